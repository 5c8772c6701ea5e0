// Captures the reference (Go containernetworking/cni pkg/types) behaviour as JSON fixtures for
// @tscni/spec tests: for every input result, the text Go prints after converting it to each of
// the 7 spec versions (or the error it returns). Run with a GOPATH holding containernetworking/cni;
// see ../../README.md ("Fixtures"). This program only calls the reference; it contains none of it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/types/create"
	"github.com/containernetworking/cni/pkg/version"
)

var versions = []string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}

type outcome struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

type caseOut struct {
	Name     string              `json:"name"`
	Input    json.RawMessage     `json:"input"`
	Parsed   outcome             `json:"parsed"`
	Converts map[string]*outcome `json:"converts"`
}

type argsOut struct {
	Args   string  `json:"args"`
	IP     *string `json:"IP,omitempty"`
	Error  *string `json:"error,omitempty"`
	Ignore bool    `json:"ignoreUnknown"`
}

func str(s string) *string { return &s }

func print(r types.Result) outcome {
	var buf bytes.Buffer
	if err := r.PrintTo(&buf); err != nil {
		return outcome{Error: str(err.Error())}
	}
	return outcome{Output: str(buf.String())}
}

func main() {
	var in struct {
		Results []struct {
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		} `json:"results"`
		Args     []string `json:"args"`
		Versions []string `json:"versions"`
		IPs      []string `json:"ips"`
		CIDRs    []string `json:"cidrs"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	out := struct {
		Results  []caseOut                     `json:"results"`
		Args     []argsOut                     `json:"args"`
		Versions map[string]map[string]*string `json:"versions"`
		IPs      map[string]*string            `json:"ips"`
		CIDRs    map[string]*string            `json:"cidrs"`
	}{Versions: map[string]map[string]*string{}, IPs: map[string]*string{}, CIDRs: map[string]*string{}}

	for _, c := range in.Results {
		co := caseOut{Name: c.Name, Input: c.Input, Converts: map[string]*outcome{}}
		r, err := create.CreateFromBytes(c.Input)
		if err != nil {
			co.Parsed = outcome{Error: str(err.Error())}
			out.Results = append(out.Results, co)
			continue
		}
		co.Parsed = print(r)
		for _, v := range versions {
			// Re-parse for every target so a conversion cannot see another one's mutations.
			r, _ := create.CreateFromBytes(c.Input)
			conv, err := r.GetAsVersion(v)
			if err != nil {
				co.Converts[v] = &outcome{Error: str(err.Error())}
				continue
			}
			o := print(conv)
			co.Converts[v] = &o
		}
		out.Results = append(out.Results, co)
	}

	for _, a := range in.Args {
		var target struct {
			types.CommonArgs
			IP types.UnmarshallableString
		}
		ao := argsOut{Args: a}
		if err := types.LoadArgs(a, &target); err != nil {
			ao.Error = str(err.Error())
		} else {
			ao.IP = str(string(target.IP))
			ao.Ignore = bool(target.IgnoreUnknown)
		}
		out.Args = append(out.Args, ao)
	}

	for _, a := range in.Versions {
		row := map[string]*string{}
		if maj, min, mic, err := version.ParseVersion(a); err != nil {
			row["error"] = str(err.Error())
		} else {
			row["parsed"] = str(fmt.Sprintf("%d.%d.%d", maj, min, mic))
		}
		out.Versions[a] = row
	}

	// How results print addresses: net.IP text and types.IPNet (ParseCIDR keeping the host bits).
	for _, a := range in.IPs {
		if ip := net.ParseIP(a); ip != nil {
			out.IPs[a] = str(ip.String())
		} else {
			out.IPs[a] = nil
		}
	}
	for _, a := range in.CIDRs {
		if n, err := types.ParseCIDR(a); err == nil {
			out.CIDRs[a] = str(n.String())
		} else {
			out.CIDRs[a] = nil
		}
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
