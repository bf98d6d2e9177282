// Package vectors runs a workload's golden vectors (workloads/vectors) on
// its handler natively, in go test: the logic checked byte for byte before
// any module is built.
package vectors

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

type vectorCase struct {
	Name         string  `json:"name"`
	Input        *string `json:"input"`
	InputBase64  *string `json:"input_base64"`
	Output       *string `json:"output"`
	OutputBase64 *string `json:"output_base64"`
	Error        *string `json:"error"`
}

type file struct {
	Workload string       `json:"workload"`
	Pure     bool         `json:"pure"`
	Cases    []vectorCase `json:"cases"`
}

func decode(t *testing.T, text, b64 *string) []byte {
	t.Helper()
	if b64 != nil {
		b, err := base64.StdEncoding.DecodeString(*b64)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if text != nil {
		return []byte(*text)
	}
	return nil
}

// Run runs every case of workloads/vectors/<workload>.json (read from the
// workload's package folder) through handler, which must be pure.
func Run(t *testing.T, workload string, handler func([]byte) ([]byte, error)) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "vectors", workload+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v file
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s.json: %v", workload, err)
	}
	if v.Workload != workload || !v.Pure || len(v.Cases) == 0 {
		t.Fatalf("%s.json: workload %q, pure %v, %d cases", workload, v.Workload, v.Pure, len(v.Cases))
	}
	for _, c := range v.Cases {
		out, err := handler(decode(t, c.Input, c.InputBase64))
		switch {
		case c.Error != nil && (err == nil || err.Error() != *c.Error):
			t.Errorf("%s: got %q, %v; want error %q", c.Name, out, err, *c.Error)
		case c.Error == nil && err != nil:
			t.Errorf("%s: error %q", c.Name, err)
		case c.Error == nil && !bytes.Equal(out, decode(t, c.Output, c.OutputBase64)):
			t.Errorf("%s:\n got %s\nwant %s", c.Name, out, decode(t, c.Output, c.OutputBase64))
		}
	}
}
