package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMentionsSecretCommand(t *testing.T) {
	assert.True(t, mentionsSecretCommand([]string{"fe", "get", "secret"}))
	assert.True(t, mentionsSecretCommand([]string{"fe", "--store", "x", "delete", "secret", "n"}))
	assert.False(t, mentionsSecretCommand([]string{"fe", "--secret", "k"}))
	assert.False(t, mentionsSecretCommand([]string{"get"}), "argv[0] is not an argument")
	assert.False(t, mentionsSecretCommand(nil))
}
