package guest

// The command flavour's one run over stdin and stdout (command.go calls it
// from Main; plain Go, tested natively).

import "io"

// command is Main with its streams and exit code passed in and out.
func command(stdin io.Reader, stdout, stderr io.Writer) int {
	input, err := io.ReadAll(stdin)
	if err != nil {
		_, _ = io.WriteString(stderr, "reading stdin: "+err.Error())
		return 1
	}
	output, err := run(input)
	if err != nil {
		_, _ = io.WriteString(stderr, err.Error())
		return 1
	}
	if _, err := stdout.Write(output); err != nil {
		_, _ = io.WriteString(stderr, "writing stdout: "+err.Error())
		return 1
	}
	return 0
}
