//go:build !tls

package main

func linkTLS() {}
