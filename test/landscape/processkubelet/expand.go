package main

import "strings"

// expand replaces $(VAR) references in input with mapping's values, following the semantics of the kubelet's
// expansion package (k8s.io/kubernetes third_party/forked/golang/expansion, function Expand), reimplemented
// here: $(NAME) becomes the value when mapping knows NAME and stays $(NAME) otherwise; $$ is an escaped $; a
// $ followed by anything else, and an unterminated $(, are kept literally.
func expand(input string, mapping func(string) (string, bool)) string {
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(input); cursor++ {
		if input[cursor] != '$' || cursor+1 >= len(input) {
			continue
		}
		b.WriteString(input[checkpoint:cursor])
		read, isVar, advance := readVariableName(input[cursor+1:])
		if isVar {
			if v, ok := mapping(read); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + read + ")")
			}
		} else {
			b.WriteString(read)
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	b.WriteString(input[checkpoint:])
	return b.String()
}

// readVariableName reads what follows a $: it returns the text to emit (or the variable name), whether it is
// a variable, and how many bytes after the $ it consumed.
func readVariableName(input string) (string, bool, int) {
	switch input[0] {
	case '$':
		return "$", false, 1
	case '(':
		if end := strings.IndexByte(input[1:], ')'); end >= 0 {
			return input[1 : end+1], true, end + 2
		}
		return "$(", false, 1
	default:
		return "$" + input[:1], false, 1
	}
}

// mappingFor looks names up in maps in order.
func mappingFor(maps ...map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, m := range maps {
			if v, ok := m[name]; ok {
				return v, true
			}
		}
		return "", false
	}
}
