#!/bin/sh
cat > /tmp/gort/stdin-$CNI_COMMAND.json
env | grep ^CNI_ | sort > /tmp/gort/env-$CNI_COMMAND.txt
if [ "$CNI_COMMAND" = ADD ]; then
printf '%s' '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"0a:58:0a:00:00:05","sandbox":"/run/netns/x<&>","mtu":1500}],"ips":[{"address":"10.0.0.5/24","gateway":"10.0.0.1","interface":0},{"address":"fd00::5/64","interface":0}],"routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1"},{"dst":"::/0","priority":100,"table":5}],"dns":{"nameservers":["10.0.0.1"],"search":["a<b>&c","caf\u00e9\u2028x"],"options":["ndots:5"]}}'
fi
