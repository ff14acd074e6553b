package importer

import (
	"io"

	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/readers"
)

// Preview is what a person sees before importing a file: what was detected,
// the header, the first rows and the mapping Portage would use.
type Preview struct {
	FileType         string            `json:"file_type"`
	Encoding         string            `json:"encoding"`
	Delimiter        string            `json:"delimiter"`
	Sheet            string            `json:"sheet,omitempty"`
	Header           []string          `json:"header"`
	Rows             [][]string        `json:"rows"`
	SuggestedMapping map[string]string `json:"suggested_mapping"`
}

// PreviewFile reads the header and up to n rows of a file with the same
// readers the pipeline uses. A damaged file is a *readers.FileError.
func PreviewFile(r io.Reader, name string, n int, opts readers.Options) (Preview, error) {
	rd, err := readers.Open(r, name, opts)
	if err != nil {
		return Preview{}, err
	}
	defer rd.Close()
	info := rd.Info()
	p := Preview{FileType: string(info.FileType), Encoding: info.Encoding, Delimiter: info.Delimiter, Sheet: info.Sheet,
		Header: rd.Header(), Rows: [][]string{}, SuggestedMapping: mapping.Suggest(rd.Header())}
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
