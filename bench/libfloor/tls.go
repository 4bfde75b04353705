//go:build tls

package main

import (
	"crypto/tls"
	"crypto/x509"
	"net"
)

func linkTLS() {
	c, err := net.Dial("tcp", "127.0.0.1:1")
	if err != nil {
		return
	}
	pool := x509.NewCertPool()
	_ = tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "x"}).Handshake()
}
