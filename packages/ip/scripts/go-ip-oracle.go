// Development tool, not part of the build: prints how Go's net package parses and formats each
// input line, as JSON. Its output is committed as src/fixtures/go-ip.json and checked by ip.test.ts and bytes.test.ts.
// Regenerate (in packages/ip, Go 1.19 made the committed file): go run scripts/go-ip-oracle.go < scripts/ip-inputs.txt > src/fixtures/go-ip.json
package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"runtime"
)

type out struct {
	In   string  `json:"in"`
	IP   *string `json:"ip"`
	CIDR *string `json:"cidr"`
	Net  *string `json:"net"`
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	var res []out
	for sc.Scan() {
		line := sc.Text()
		o := out{In: line}
		if ip := net.ParseIP(line); ip != nil {
			s := ip.String()
			o.IP = &s
		}
		if ip, n, err := net.ParseCIDR(line); err == nil {
			withHost := (&net.IPNet{IP: ip, Mask: n.Mask}).String()
			masked := n.String()
			o.CIDR = &withHost
			o.Net = &masked
		}
		res = append(res, o)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	_ = enc.Encode(map[string]interface{}{"go": runtime.Version(), "cases": res})
}
