package main

import (
	"fmt"
	"log/slog"
	"os"

	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
)

// slogLogger passes virtual-kubelet's log lines (its node and pod controllers report failed status updates only
// there) to slog; virtual-kubelet's default logger discards everything.
type slogLogger struct{ l *slog.Logger }

var _ vklog.Logger = slogLogger{}

func (s slogLogger) Debug(args ...any)                      { s.l.Debug(fmt.Sprint(args...)) }
func (s slogLogger) Debugf(f string, args ...any)           { s.l.Debug(fmt.Sprintf(f, args...)) }
func (s slogLogger) Info(args ...any)                       { s.l.Info(fmt.Sprint(args...)) }
func (s slogLogger) Infof(f string, args ...any)            { s.l.Info(fmt.Sprintf(f, args...)) }
func (s slogLogger) Warn(args ...any)                       { s.l.Warn(fmt.Sprint(args...)) }
func (s slogLogger) Warnf(f string, args ...any)            { s.l.Warn(fmt.Sprintf(f, args...)) }
func (s slogLogger) Error(args ...any)                      { s.l.Error(fmt.Sprint(args...)) }
func (s slogLogger) Errorf(f string, args ...any)           { s.l.Error(fmt.Sprintf(f, args...)) }
func (s slogLogger) Fatal(args ...any)                      { s.l.Error(fmt.Sprint(args...)); os.Exit(1) }
func (s slogLogger) Fatalf(f string, args ...any)           { s.l.Error(fmt.Sprintf(f, args...)); os.Exit(1) }
func (s slogLogger) WithField(k string, v any) vklog.Logger { return slogLogger{s.l.With(k, v)} }
func (s slogLogger) WithError(err error) vklog.Logger       { return slogLogger{s.l.With("error", err)} }
func (s slogLogger) WithFields(fields vklog.Fields) vklog.Logger {
	l := s.l
	for k, v := range fields {
		l = l.With(k, v)
	}
	return slogLogger{l}
}
