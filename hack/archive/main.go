// Command archive writes a release archive, .tar.gz or .zip by the name of
// -o, holding the given files at its root. Entries are sorted, owned by
// root, dated -mtime and either 0755 (executable) or 0644, so the same
// inputs give the same bytes on any machine. hack/dist.sh uses it instead
// of tar and zip, whose flags and defaults differ between GNU, BSD and
// machines with no zip at all.
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "", "archive to write: NAME.tar.gz or NAME.zip")
	mtime := flag.Int64("mtime", 0, "modification time of every entry, in seconds since 1970 (SOURCE_DATE_EPOCH)")
	flag.Parse()
	if err := write(*out, time.Unix(*mtime, 0).UTC(), flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "archive:", err)
		os.Exit(1)
	}
}

type entry struct {
	name string
	mode int64
	data []byte
}

func write(out string, mtime time.Time, paths []string) (err error) {
	if out == "" || len(paths) == 0 {
		return errors.New("usage: archive -o NAME.tar.gz|NAME.zip [-mtime SECONDS] FILE...")
	}
	var entries []entry
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if st.Mode()&0o111 != 0 {
			mode = 0o755
		}
		entries = append(entries, entry{name: filepath.Base(p), mode: mode, data: data})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(out)
		}
	}()
	switch {
	case strings.HasSuffix(out, ".tar.gz"):
		return writeTarGz(f, mtime, entries)
	case strings.HasSuffix(out, ".zip"):
		return writeZip(f, mtime, entries)
	}
	return fmt.Errorf("%s: name it .tar.gz or .zip", out)
}

func writeTarGz(w io.Writer, mtime time.Time, entries []entry) error {
	// gzip's header keeps no name and a zero time unless told otherwise.
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: e.mode, Size: int64(len(e.data)),
			ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, mtime time.Time, entries []entry) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(os.FileMode(e.mode))
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := fw.Write(e.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
