//go:build faults

package faults_test

import (
	"testing"

	"backstop/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }
