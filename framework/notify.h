#ifndef ALTS_NOTIFY_H
#define ALTS_NOTIFY_H

/*
 * The systemd readiness protocol (sd_notify(3)) without libsystemd: sends
 * STATE (e.g. "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...") as one
 * datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name starting with '@'). Returns 1 when sent, 0 when there is no
 * $NOTIFY_SOCKET (not started by systemd with Type=notify), a negative
 * ALTS_E* when the socket is bad or the send failed. Thread-safe.
 */
int alts_notify(const char *state);

#endif
