// CoreDNS for the kind node image, with only the plugins the Corefile that kubeadm
// deploys uses (errors, health, ready, kubernetes, prometheus, forward, cache, loop,
// reload, loadbalance) plus log. CoreDNS's own main links all ~60 plugins, among them
// the AWS, Azure and Google Cloud SDKs, which tripled the cold build; choosing the
// plugins at compile time is CoreDNS's documented way to build a smaller server.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	coremain.Run()
}
