package media_test

import (
	"bytes"
	"image/jpeg"
	"testing"

	"github.com/signoff-app/signoff/media"
)

// FuzzInspect: no body, whatever type it claims, panics the decoder or
// passes the pixel budget, and every thumbnail made is a JPEG no wider than
// ThumbWidth.
func FuzzInspect(f *testing.F) {
	for _, format := range []string{"png", "jpeg", "gif"} {
		f.Add(picture(f, format, 30, 20), "image/"+format)
	}
	f.Add(bomb(f), "image/png")
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "image/webp")
	f.Add([]byte("<html>"), "image/png")
	f.Add([]byte{}, "image/gif")
	fetcher := media.New(media.Config{MaxPixels: 1 << 20}, nil)
	f.Fuzz(func(t *testing.T, data []byte, ctype string) {
		m, th, err := fetcher.Inspect(data, ctype)
		if err != nil || th == nil {
			return
		}
		if int64(m.Width)*int64(m.Height) > 1<<20 {
			t.Fatalf("decoded a %d×%d picture past the budget", m.Width, m.Height)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(th.Data))
		if err != nil || cfg.Width > media.ThumbWidth {
			t.Fatalf("thumbnail %d wide: %v", cfg.Width, err)
		}
	})
}
