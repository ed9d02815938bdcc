package helper

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

// DecodeError is a providerConfig that cannot be decoded, with the path of the field that fails inside the
// document. The decoder's own errors say what is wrong ("illegal base64 data at input byte 4") but not where, and
// a user cannot find a wrong entry of a list by that.
type DecodeError struct {
	// Kind is the kind of the document, for example CloudProfileConfig.
	Kind string
	// Err is the decoder's error.
	Err error

	// path holds the field names, list indices and map keys from the document's root to the failing field;
	// empty when the document as a whole is broken (syntax, duplicate fields).
	path []pathElement
}

type pathElement struct {
	name  string
	index int
	kind  pathElementKind
}

type pathElementKind int

const (
	childElement pathElementKind = iota
	indexElement
	keyElement
)

// Error says which document and field cannot be decoded and why.
func (e *DecodeError) Error() string {
	if len(e.path) == 0 {
		return fmt.Sprintf("could not decode %s: %v", e.Kind, e.Err)
	}
	// The path is printed relative to the document; the field path the caller knows goes in front.
	var path strings.Builder
	for _, element := range e.path {
		switch element.kind {
		case indexElement:
			fmt.Fprintf(&path, "[%d]", element.index)
		case keyElement:
			fmt.Fprintf(&path, "[%s]", element.name)
		default:
			if path.Len() > 0 {
				path.WriteString(".")
			}
			path.WriteString(element.name)
		}
	}
	return fmt.Sprintf("could not decode %s: %s: %v", e.Kind, path.String(), e.Err)
}

// Unwrap returns the decoder's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// FieldPath returns the path of the failing field below base, the path of the document itself.
func (e *DecodeError) FieldPath(base *field.Path) *field.Path {
	p := base
	for _, element := range e.path {
		switch element.kind {
		case indexElement:
			p = p.Index(element.index)
		case keyElement:
			p = p.Key(element.name)
		default:
			p = p.Child(element.name)
		}
	}
	return p
}

// newDecodeError locates the field of data (a document of the given kind) that fails to decode.
func newDecodeError(data []byte, kind string, err error) *DecodeError {
	decodeErr := &DecodeError{Kind: kind, Err: err}
	obj, newErr := Scheme.New(v1alpha1.SchemeGroupVersion.WithKind(kind))
	if newErr != nil {
		return decodeErr
	}
	jsonData, convErr := yaml.YAMLToJSON(data)
	if convErr != nil {
		return decodeErr
	}
	var document any
	decoder := json.NewDecoder(bytes.NewReader(jsonData))
	decoder.UseNumber()
	if decoder.Decode(&document) != nil {
		return decodeErr
	}
	decodeErr.path, _ = locate(document, reflect.TypeOf(obj))
	return decodeErr
}

// locate descends into value along the Go type t to the innermost field that does not decode into its type,
// and reports false when value decodes as a whole. Unknown fields are failing fields of their own.
func locate(value any, t reflect.Type) ([]pathElement, bool) {
	if decodesInto(value, t) {
		return nil, false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := value.(map[string]any)
		if !ok {
			return nil, true
		}
		fields := jsonFields(t)
		for _, key := range sortedKeys(obj) {
			fieldType, known := fields[key]
			if !known {
				return []pathElement{{name: key}}, true
			}
			if sub, bad := locate(obj[key], fieldType); bad {
				return append([]pathElement{{name: key}}, sub...), true
			}
		}
	case reflect.Slice:
		list, ok := value.([]any)
		if !ok || t.Elem().Kind() == reflect.Uint8 {
			return nil, true
		}
		for i, item := range list {
			if sub, bad := locate(item, t.Elem()); bad {
				return append([]pathElement{{index: i, kind: indexElement}}, sub...), true
			}
		}
	case reflect.Map:
		obj, ok := value.(map[string]any)
		if !ok {
			return nil, true
		}
		for _, key := range sortedKeys(obj) {
			if sub, bad := locate(obj[key], t.Elem()); bad {
				return append([]pathElement{{name: key, kind: keyElement}}, sub...), true
			}
		}
	}
	return nil, true
}

// decodesInto tells whether value, re-encoded, decodes into a new value of type t without unknown fields.
func decodesInto(value any, t reflect.Type) bool {
	data, err := json.Marshal(value)
	if err != nil {
		return false
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	return decoder.Decode(reflect.New(t).Interface()) == nil
}

// jsonFields maps the JSON names of a struct's fields to their types, with the fields of inlined structs
// (metav1.TypeMeta) at the same level.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, options, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || slices.Contains(strings.Split(options, ","), "inline")) {
			for inlinedName, inlinedType := range jsonFields(f.Type) {
				fields[inlinedName] = inlinedType
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
