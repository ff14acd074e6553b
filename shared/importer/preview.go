package importer

import (
	"io"

	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/readers"
)

// Preview is what a person sees before importing a file: what was detected,
// the header, the first rows and the mapping Portage would use.
type Preview struct {
	FileType  string `json:"file_type"`
	Encoding  string `json:"encoding"`
	Delimiter string `json:"delimiter"`
	Sheet     string `json:"sheet,omitempty"`
	// EncodingGuessed says no byte order mark declared the encoding.
	EncodingGuessed bool `json:"encoding_guessed,omitempty"`
	// HeaderRow is the row the column names were found on; Skipped the
	// rows above it (notes, titles) that are not imported.
	HeaderRow int               `json:"header_row,omitempty"`
	Skipped   []readers.Skipped `json:"skipped,omitempty"`
	Header    []string          `json:"header"`
	Rows      [][]string        `json:"rows"`
	// SuggestedMapping is column → target ("" for a column left alone);
	// Suggestions says, per column, how sure and why.
	SuggestedMapping map[string]string             `json:"suggested_mapping"`
	Suggestions      map[string]mapping.Suggestion `json:"suggestions"`
}

// PreviewFile reads the header and up to n rows of a file with the same
// readers the pipeline uses. A damaged file is an apperr.Invalid error.
func PreviewFile(r io.Reader, name string, n int, opts readers.Options) (Preview, error) {
	if opts.KnownHeader == nil {
		opts.KnownHeader = mapping.KnownHeader
	}
	rd, err := readers.Open(r, name, opts)
	if err != nil {
		return Preview{}, err
	}
	defer rd.Close()
	p := previewOf(rd)
	for len(p.Rows) < n {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, err
		}
		p.Rows = append(p.Rows, rec.Values)
	}
	return p, nil
}

// previewOf is what an open reader tells of its file, with no rows yet.
func previewOf(rd readers.Reader) Preview {
	info := rd.Info()
	p := Preview{FileType: string(info.FileType), Encoding: info.Encoding, Delimiter: info.Delimiter, Sheet: info.Sheet,
		EncodingGuessed: info.EncodingGuessed, HeaderRow: info.HeaderRow, Skipped: info.Skipped,
		Header: rd.Header(), Rows: [][]string{}, SuggestedMapping: map[string]string{},
		Suggestions: mapping.Suggestions(rd.Header(), rd.Sample())}
	for h, sg := range p.Suggestions {
		p.SuggestedMapping[h] = sg.Field
	}
	return p
}
