package edge

import (
	"bytes"
	"encoding/json"
	"errors"
)

// object is a JSON object with its members in the body's order and its duplicate keys kept:
// protojson refuses a field given twice, and the check must be able to say which one.
type object []member

type member struct {
	key   string
	value any
}

// MarshalJSON writes o as the JSON object it was, for messages that quote a value.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// decodeValue reads one JSON value from dec (which uses numbers): an object as an object,
// an array as []any, and a scalar as encoding/json gives it. It recurses once per level of
// nesting; the edge checks only bodies json.Valid accepts, which bounds that at 10,000 levels.
func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, errors.New("an object key that is not a string")
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, member{key: key, value: v})
		}
		_, err := dec.Token() // '}'
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token() // ']'
		return arr, err
	}
	return tok, nil
}
