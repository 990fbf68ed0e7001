/* The pod sandbox's one process: holds the pod's namespaces open until it is
 * told to stop. Built static so the image needs no libc; nothing can be
 * pulled on this machine, so the sandbox image is made here. As PID 1 of the
 * pod it also reaps children that get reparented to it. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) { (void)sig; _exit(0); }

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  signal(SIGINT, on_stop);
  signal(SIGTERM, on_stop);
  signal(SIGCHLD, on_child);
  for (;;) pause();
}
