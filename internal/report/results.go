package report

import (
	"cmp"
	"slices"

	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// settle fills rep from the results alone: every key's latest result, and
// every invalid result no later result on its line replaced. Messages are
// read back from the results file (msgs) for the rows not done.
func settle(st *resume.State, msgs messages, rep *Report) error {
	var notDone []resume.Result
	rep.Superseded += int64(st.Each(func(r resume.Result, _, _ bool) {
		rep.Rows++
		switch r.Status {
		case resume.Success:
			rep.Success++
		case resume.Unchanged:
			rep.Unchanged++
		case resume.Failed:
			notDone = append(notDone, r)
		case resume.Invalid:
			rep.Invalid++
			notDone = append(notDone, r)
		default:
			rep.Unreadable++
		}
	}))
	// In the results file's order: a sequential read of its messages.
	slices.SortFunc(notDone, func(a, b resume.Result) int { return cmp.Compare(a.At, b.At) })
	tally := reason.NewTally(0)
	for _, r := range notDone {
		msg, err := msgs.of(r)
		if err != nil {
			return err
		}
		if r.Status == resume.Failed {
			rep.countFailed(msg)
		}
		tally.Add(statusName(r.Status), msg, r.Line)
	}
	rep.Reasons = tally.Top(0)
	return nil
}

// statusName spells a status as the results file does.
func statusName(s resume.Status) string {
	switch s {
	case resume.Success:
		return string(writer.StatusSuccess)
	case resume.Unchanged:
		return string(writer.StatusUnchanged)
	case resume.Failed:
		return string(writer.StatusFailed)
	case resume.Invalid:
		return string(writer.StatusInvalid)
	}
	return "unreadable"
}
