package cli

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/signoff-app/signoff/approvals"
)

// demoPicturePath is where `signoff dev` serves the demo draft's picture.
const demoPicturePath = "/dev/media/demo.png"

// demoText is the demo draft's caption: long enough that Instagram's feed
// folds it, so the mock-up shows "… more".
const demoText = `Summer collection drops Friday ☀️ Bright colours, light fabrics and our new sunglasses line, made to last all season long. ` +
	`Come by the shop on Saturday for 20% off everything in store.
#summer #acme #newcollection`

// serveDemoPicture answers with a 1080×1350 picture (Instagram's portrait
// size) drawn here, so the demo needs no file and no network.
func serveDemoPicture(w http.ResponseWriter, _ *http.Request) {
	const width, height = 1080, 1350
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		for x := range width {
			c := color.RGBA{uint8(255 - y*120/height), uint8(140 + x*80/width), uint8(60 + y*160/height), 255}
			// A sun: a disc in the upper third.
			if dx, dy := x-width/2, y-height/3; dx*dx+dy*dy < 200*200 {
				c = color.RGBA{255, 214, 64, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(b.Bytes())
}

// seedDemoDraft adds pictureURL's host to the demo workspace's media
// hosts, keeping those there, and submits a draft with that picture to the
// Instagram account, unless one with the demo caption exists.
func seedDemoDraft(ctx context.Context, svc *approvals.Service, pictureURL string) error {
	op := approvals.Operator(demoWorkspace)
	u, err := url.Parse(pictureURL)
	if err != nil {
		return fmt.Errorf("demo picture URL: %w", err)
	}
	ws, err := svc.Workspace(ctx, op)
	if err != nil {
		return err
	}
	if !slices.Contains(ws.MediaHosts, u.Hostname()) {
		hosts := strings.Join(append(ws.MediaHosts, u.Hostname()), ",")
		if _, err := svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{MediaHosts: &hosts}); err != nil {
			return err
		}
	}
	editor := approvals.Actor{Workspace: demoWorkspace, Email: demoEditor, Channel: approvals.ChannelCLI}
	drafts, err := svc.List(ctx, editor, approvals.ListInput{Account: demoAccount})
	if err != nil {
		return err
	}
	for _, d := range drafts {
		if strings.HasPrefix(d.Text, "Summer collection drops Friday") {
			return nil
		}
	}
	v, err := svc.Submit(ctx, editor, approvals.DraftInput{Account: demoAccount, Text: demoText, MediaURLs: []string{pictureURL}})
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	for _, m := range v.Media {
		if m.Reason != "" {
			return fmt.Errorf("draft %d: its picture was %s", v.ID, strings.TrimPrefix(m.Reason, "not previewed: "))
		}
	}
	return nil
}
