/**
 * Linux's numbers for the libc calls the daemon makes through koffi (the TFTP engine's socket loops, the
 * HTTP door's sendfile thread): errno values, epoll's flags and operations, and the layout of struct
 * epoll_event, which is 12 bytes and packed on x86-64, 16 with the data at offset 8 on arm64.
 */

/** <errno.h> */
export const EINTR = 4;
export const EAGAIN = 11;
export const ECONNREFUSED = 111;

/** <sys/epoll.h> */
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLONESHOT = 1 << 30;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLL_CLOEXEC = 0x80000;
export const EPOLL_EVENT_BYTES = process.arch === 'x64' ? 12 : 16;
export const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

/** <fcntl.h> (x86-64 and arm64 alike) */
export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_NONBLOCK = 0o4000;

/** <sys/socket.h>: SO_RCVTIMEO takes a struct timeval of two longs (16 bytes on 64-bit Linux). */
export const SOL_SOCKET = 1;
export const SO_RCVTIMEO = 20;
export const TIMEVAL_BYTES = 16;
