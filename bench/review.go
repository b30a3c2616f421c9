package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/webform"
	"github.com/signoff-app/signoff/mailer"
)

// The review phase times the review page of one approver (everything
// waiting on them, GET /r/TOKEN) with ReviewDrafts drafts waiting, and
// "Approve all" of ApproveAllDrafts drafts (the confirmed POST), in a
// workspace of its own so that no other phase's drafts are listed.
const reviewSlug = "bench-review"

// Targets of the review figures.
const (
	targetReviewPageP99ms = 50
	targetApproveAllP99ms = 1000
)

// reviewWorld is the review phase's workspace: an editor, and two
// accounts each with a client approver of its own (one for the page, one
// for "Approve all").
type reviewWorld struct {
	wsID   int64
	editor string
	page   person
	all    person
}

func seedReviewWorld(ctx context.Context, svc *approvals.Service) (*reviewWorld, error) {
	op := approvals.Operator(reviewSlug)
	ws, err := svc.CreateWorkspace(ctx, approvals.Operator(""), reviewSlug, "Bench Review Agency")
	if err != nil {
		return nil, fmt.Errorf("seed review workspace: %w", err)
	}
	w := &reviewWorld{wsID: ws.ID, editor: "ed@review.test"}
	if _, err := svc.AddMember(ctx, op, w.editor, "Rev Editor", approvals.RoleEditor); err != nil {
		return nil, fmt.Errorf("seed review editor: %w", err)
	}
	on := true
	for i, who := range []*person{&w.page, &w.all} {
		handle, email := fmt.Sprintf("review-%d", i), fmt.Sprintf("approver%d@review.test", i)
		m, err := svc.AddMember(ctx, op, email, fmt.Sprintf("Approver %d", i), approvals.RoleClient)
		if err != nil {
			return nil, fmt.Errorf("seed review approver: %w", err)
		}
		*who = person{ID: m.ID, Email: email}
		if _, err := svc.AddAccount(ctx, op, handle, fmt.Sprintf("Review Client %d", i)); err != nil {
			return nil, fmt.Errorf("seed review account: %w", err)
		}
		for email, caps := range map[string]approvals.Caps{
			w.editor: approvals.NewCaps(approvals.CapView, approvals.CapComment, approvals.CapCreate),
			email:    approvals.NewCaps(approvals.CapView, approvals.CapComment),
		} {
			if err := svc.Grant(ctx, op, handle, approvals.GrantTarget{Email: email}, caps); err != nil {
				return nil, fmt.Errorf("seed review grant: %w", err)
			}
		}
		if err := svc.AddApprover(ctx, op, handle, email, approvals.TierClient); err != nil {
			return nil, fmt.Errorf("seed review approver: %w", err)
		}
		if _, err := svc.SetAccount(ctx, op, handle, approvals.AccountSettings{NeedsClientApproval: &on}); err != nil {
			return nil, fmt.Errorf("seed review account: %w", err)
		}
	}
	return w, nil
}

// submit submits n drafts on account i with 8 workers; every third is
// revised once, so the page shows what changed.
func (w *reviewWorld) submit(ctx context.Context, svc *approvals.Service, account, n int) error {
	ed := approvals.Actor{WorkspaceID: w.wsID, Email: w.editor, Channel: approvals.ChannelCLI}
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				v, err := svc.Submit(ctx, ed, approvals.DraftInput{Account: fmt.Sprintf("review-%d", account),
					Text: fmt.Sprintf("Review draft %d: spring collection, twelve new pieces, link in bio.", i)})
				if err == nil && i%3 == 0 {
					_, err = svc.Revise(ctx, ed, v.ID, approvals.DraftInput{Text: fmt.Sprintf("Review draft %d: spring collection, fourteen new pieces, link in bio.", i)})
				}
				if err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return fmt.Errorf("seed review draft: %w", err)
	}
	return ctx.Err()
}

func (e *env) review(ctx context.Context, cfg Config, rep *Report, profile func(string) func(), logf logFunc) error {
	svc := e.main.Service
	w, err := seedReviewWorld(ctx, svc)
	if err != nil {
		return err
	}
	logf("review page: seeding %d drafts waiting on one approver", cfg.ReviewDrafts)
	if err := w.submit(ctx, svc, 0, cfg.ReviewDrafts); err != nil {
		return err
	}
	if err := e.settleSeedOutbox(ctx); err != nil {
		return err
	}
	tok, err := e.codec.EncodeReview(mailer.ReviewLink{WorkspaceID: w.wsID, MemberID: w.page.ID})
	if err != nil {
		return fmt.Errorf("mint review link: %w", err)
	}
	logf("review page: %d loads", cfg.ReviewLoads)
	stop := profile("review-page")
	var page samples
	var size int
	c0 := e.cpu()
	for range cfg.ReviewLoads {
		t0 := time.Now()
		body, err := e.get(ctx, e.base+"/r/"+tok)
		if err != nil {
			stop()
			return err
		}
		page.add(time.Since(t0))
		size = len(body)
		if want := fmt.Sprintf("%d drafts wait on your decision", cfg.ReviewDrafts); !strings.Contains(body, want) {
			stop()
			return fmt.Errorf("bench: the review page does not say %q", want)
		}
	}
	pageCPU := c0.to(e.cpu())
	stop()
	note := fmt.Sprintf("%d loads of one approver's page listing %d drafts (a third revised, with their diff), %d KB of HTML each; one Service.Waiting in a fixed number of statements (store's TestReviewRoundTrips); p50 %.1f ms",
		cfg.ReviewLoads, cfg.ReviewDrafts, size>>10, ms(page.quantile(0.5)))
	rep.add(Figure{Name: fmt.Sprintf("review page p99 with %d drafts waiting", cfg.ReviewDrafts), Value: round1(ms(page.quantile(0.99))), Unit: "ms",
		Goal: AtMost, Target: targetReviewPageP99ms, Note: note})
	// Loads run one at a time, so a page's latency is at least its CPU;
	// on a machine shared with other work the CPU is the steadier figure.
	rep.add(Figure{Name: fmt.Sprintf("CPU per review page load with %d drafts waiting", cfg.ReviewDrafts), Value: round1(per(pageCPU.Postgres+pageCPU.Server+pageCPU.Self, cfg.ReviewLoads)), Unit: "ms",
		Note: fmt.Sprintf("PostgreSQL %.1f ms, signoff serve %.1f ms, the bench process (client) %.1f ms; %.1f cores busy machine-wide meanwhile",
			per(pageCPU.Postgres, cfg.ReviewLoads), per(pageCPU.Server, cfg.ReviewLoads), per(pageCPU.Self, cfg.ReviewLoads), pageCPU.cores())})

	logf("approve all: %d runs of %d drafts", cfg.ApproveAllRuns, cfg.ApproveAllDrafts)
	tok, err = e.codec.EncodeReview(mailer.ReviewLink{WorkspaceID: w.wsID, MemberID: w.all.ID})
	if err != nil {
		return fmt.Errorf("mint review link: %w", err)
	}
	var all samples
	var allCPU cpuUse
	for range cfg.ApproveAllRuns {
		if err := w.submit(ctx, svc, 1, cfg.ApproveAllDrafts); err != nil {
			return err
		}
		if err := e.settleSeedOutbox(ctx); err != nil {
			return err
		}
		// The two clicks a person makes: "Approve all N shown", then the
		// confirmation; only the second is timed.
		list, err := e.get(ctx, e.base+"/r/"+tok)
		if err != nil {
			return err
		}
		confirm, err := e.postForm(ctx, e.base+"/r/"+tok+"/all", webform.Hidden(list, "approve-all-form"))
		if err != nil {
			return err
		}
		stop := profile("approve-all")
		c0 := e.cpu()
		t0 := time.Now()
		result, err := e.postForm(ctx, e.base+"/r/"+tok+"/all/approve", webform.Hidden(confirm, "approve-all-form"))
		all.add(time.Since(t0))
		u := c0.to(e.cpu())
		allCPU.Postgres += u.Postgres
		allCPU.Server += u.Server
		allCPU.Self += u.Self
		stop()
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("You approved %d of %d drafts", cfg.ApproveAllDrafts, cfg.ApproveAllDrafts); !strings.Contains(result, want) {
			return fmt.Errorf("bench: approve all did not say %q", want)
		}
		if err := e.drainOutbox(ctx, 2*time.Minute); err != nil {
			logf("%v", err)
		}
	}
	note = fmt.Sprintf("%d confirmed POSTs approving %d drafts each, one core Decide per draft (the statements of one Decide each, store's TestReviewRoundTrips), outbox delivering meanwhile; p50 %.0f ms",
		cfg.ApproveAllRuns, cfg.ApproveAllDrafts, ms(all.quantile(0.5)))
	rep.add(Figure{Name: fmt.Sprintf("approve all of %d drafts p99", cfg.ApproveAllDrafts), Value: round1(ms(all.quantile(0.99))), Unit: "ms",
		Goal: AtMost, Target: targetApproveAllP99ms, Note: note})
	rep.add(Figure{Name: fmt.Sprintf("CPU per approve all of %d drafts", cfg.ApproveAllDrafts), Value: round1(per(allCPU.Postgres+allCPU.Server+allCPU.Self, cfg.ApproveAllRuns)), Unit: "ms",
		Note: fmt.Sprintf("PostgreSQL %.1f ms, signoff serve %.1f ms (the outbox's sends included), the bench process (client and SMTP sink) %.1f ms",
			per(allCPU.Postgres, cfg.ApproveAllRuns), per(allCPU.Server, cfg.ApproveAllRuns), per(allCPU.Self, cfg.ApproveAllRuns))})
	return nil
}

func (e *env) get(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (bench)")
	return e.page(req)
}

func (e *env) postForm(ctx context.Context, u string, form url.Values) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (bench)")
	return e.page(req)
}

// page does req and returns the body of a 200 answer.
func (e *env) page(req *http.Request) (string, error) {
	resp, err := e.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", req.Method, shortPath(req.URL.Path), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", req.Method, shortPath(req.URL.Path), err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: status %d: %.200s", req.Method, shortPath(req.URL.Path), resp.StatusCode, body)
	}
	return string(body), nil
}
