package transport

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs sends pion's own log lines to our logger at debug level: pion
// reports retransmissions and per-record errors that are noise at info;
// this package logs the outcomes (handshake failed, session closed).
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) enabled() bool { return l.log.Enabled(context.Background(), slog.LevelDebug) }
func (l pionLogger) line(msg string) {
	if l.enabled() {
		l.log.Debug(msg)
	}
}
func (l pionLogger) linef(format string, args ...any) {
	if l.enabled() {
		l.log.Debug(fmt.Sprintf(format, args...))
	}
}
func (l pionLogger) Trace(string)              {}
func (l pionLogger) Tracef(string, ...any)     {}
func (l pionLogger) Debug(m string)            { l.line(m) }
func (l pionLogger) Debugf(f string, a ...any) { l.linef(f, a...) }
func (l pionLogger) Info(m string)             { l.line(m) }
func (l pionLogger) Infof(f string, a ...any)  { l.linef(f, a...) }
func (l pionLogger) Warn(m string)             { l.line(m) }
func (l pionLogger) Warnf(f string, a ...any)  { l.linef(f, a...) }
func (l pionLogger) Error(m string)            { l.line(m) }
func (l pionLogger) Errorf(f string, a ...any) { l.linef(f, a...) }
