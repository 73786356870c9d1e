/*
 * tcp-nodelay.c: an LD_PRELOAD library that sets TCP_NODELAY on every TCP socket a process
 * creates or accepts. Built for pcscd with the vpcd driver of vsmartcard 0.8 (Debian 12), which
 * sends each message to the virtual card as two writes (2-byte length, then payload): with
 * Nagle's algorithm the payload waits for the ACK of the length, and the card's side delays
 * that ACK (up to 40 ms on Linux), so every APDU, power and ATR request costs ~40 ms.
 *
 * Build: test/pcsc/nodelay/build.sh [OUTPUT.so]
 * Use:   LD_PRELOAD=/abs/path/libtcpnodelay.so pcscd --foreground
 *
 * Only AF_INET/AF_INET6 stream sockets are touched; pcscd's own UNIX socket is left alone. A
 * failing setsockopt is ignored: the socket still works, only slower.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void set_nodelay(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    int type = 0;
    socklen_t type_len = sizeof type;
    int one = 1;

    if (fd < 0)
        return;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM)
        return;
    if (getsockname(fd, (struct sockaddr *) &addr, &len) != 0)
        return;
    if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)
        return;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int socket(int domain, int type, int protocol)
{
    static int (*real_socket)(int, int, int);
    int fd;

    if (!real_socket)
        real_socket = (int (*)(int, int, int)) dlsym(RTLD_NEXT, "socket");
    fd = real_socket(domain, type, protocol);
    /* Client mode (vpcd connecting out to the card) and listening sockets, whose option
     * accepted sockets inherit on Linux; accept() below sets it again to be sure. */
    if (domain == AF_INET || domain == AF_INET6)
        set_nodelay(fd);
    return fd;
}

int accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen)
{
    static int (*real_accept)(int, struct sockaddr *, socklen_t *);
    int fd;

    if (!real_accept)
        real_accept = (int (*)(int, struct sockaddr *, socklen_t *)) dlsym(RTLD_NEXT, "accept");
    fd = real_accept(sockfd, addr, addrlen);
    set_nodelay(fd);
    return fd;
}

int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
    int fd;

    if (!real_accept4)
        real_accept4 = (int (*)(int, struct sockaddr *, socklen_t *, int)) dlsym(RTLD_NEXT, "accept4");
    fd = real_accept4(sockfd, addr, addrlen, flags);
    set_nodelay(fd);
    return fd;
}
