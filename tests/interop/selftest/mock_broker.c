/* A one-broker librdkafka mock cluster in its own process, for the harness
 * self-test. Prints its bootstrap address on stdout, runs until SIGTERM. */
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <unistd.h>
#include "rdkafka.h"
#include "rdkafka_mock.h"

static volatile sig_atomic_t run = 1;
static void on_signal(int sig) { (void)sig; run = 0; }

int main(void) {
  char err[512];
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* die with the fake broker, even on SIGKILL */
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) { fprintf(stderr, "mock: %s\n", err); return 1; }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
  if (!mc) { fprintf(stderr, "mock: cluster_new failed\n"); return 1; }
  rd_kafka_mock_group_initial_rebalance_delay_ms(mc, 0);
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  while (run) sleep(1);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  fprintf(stderr, "mock: clean shutdown\n");
  return 0;
}
