package exporter

import (
	"bytes"
	"testing"
)

// The rewriter must give the same bytes however COPY's stream is cut into
// writes: a value held back to see whether it is a number may straddle two.
func TestCSVRewriterNeutralizesAcrossWrites(t *testing.T) {
	in := "email,phone,id\n" +
		"a@x,-12.5,-1\n" +
		"=cmd,+1 (555) 123,=id\n" +
		"\"=HYPERLINK(\"\"http://evil\"\")\",-12.,x\n" +
		"\tb,\"+1,2\",y\n" +
		"\"\",,z\n" +
		"@SUM(1),\"line\nbreak\",-\n" +
		"ok,+44,w\n"
	want := "email,phone,id\r\n" +
		"a@x,-12.5,-1\r\n" +
		"'=cmd,'+1 (555) 123,=id\r\n" +
		"\"'=HYPERLINK(\"\"http://evil\"\")\",'-12.,x\r\n" +
		"'\tb,\"'+1,2\",y\r\n" +
		"\"\",,z\r\n" +
		"'@SUM(1),\"line\nbreak\",-\r\n" +
		"ok,+44,w\r\n"
	for _, size := range []int{len(in), 1, 2, 3, 7} {
		var out bytes.Buffer
		rw := &csvRewriter{w: &out, kinds: []columnKind{neutralizedColumn, neutralizedColumn, plainColumn}, header: true, fieldStart: true}
		for i := 0; i < len(in); i += size {
			if _, err := rw.Write([]byte(in[i:min(i+size, len(in))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := rw.flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("writes of %d bytes:\n got %q\nwant %q", size, out.String(), want)
		}
	}
}

// Timestamps as PostgreSQL prints them become RFC 3339, as the row path
// writes them, however the stream is cut.
func TestCSVRewriterWritesRFC3339Timestamps(t *testing.T) {
	in := "email,created_at,updated_at\n" +
		"a@x,2026-11-24 21:23:51.123456+00,2026-01-02 03:04:05+00\n" +
		"b@x,,2026-01-02 03:04:05.5+05:30\n" +
		"\"c,d\",2026-11-24 21:23:51+00,\n"
	want := "email,created_at,updated_at\r\n" +
		"a@x,2026-11-24T21:23:51.123456+00:00,2026-01-02T03:04:05+00:00\r\n" +
		"b@x,,2026-01-02T03:04:05.5+05:30\r\n" +
		"\"c,d\",2026-11-24T21:23:51+00:00,\r\n"
	for _, size := range []int{len(in), 1, 2, 5} {
		var out bytes.Buffer
		rw := &csvRewriter{w: &out, kinds: []columnKind{plainColumn, timestampColumn, timestampColumn}, header: true, fieldStart: true}
		for i := 0; i < len(in); i += size {
			if _, err := rw.Write([]byte(in[i:min(i+size, len(in))])); err != nil {
				t.Fatal(err)
			}
		}
		if out.String() != want {
			t.Errorf("writes of %d bytes:\n got %q\nwant %q", size, out.String(), want)
		}
	}
}
