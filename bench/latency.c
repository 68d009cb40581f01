/*
 * bench/latency.c: end-to-end latency driver for bench/latency.sh, on
 * librdkafka (the library rdkafka_performance is built from).
 *
 * One producer sends SIZE-byte records at a fixed RATE for SECONDS to all
 * partitions of TOPIC (round robin); each record carries its send time
 * (CLOCK_MONOTONIC, same machine) and a sequence number. One consumer,
 * assigned every partition at its high watermark (read before the first
 * record is sent), reads them back. Per record: the produce latency (send ->
 * delivery report, i.e. acks as configured) and the end-to-end latency
 * (send -> consumed).
 * The first WARMUP seconds are sent but not counted. Prints one summary line:
 *
 *   latency: sent N counted M e2e_p50_ms .. e2e_p99_ms .. e2e_p999_ms ..
 *            e2e_max_ms .. ack_p50_ms .. ack_p99_ms .. ack_p999_ms .. missing K
 *
 * usage: latency -b BOOTSTRAP -t TOPIC -n PARTITIONS -r RATE -d SECONDS
 *                [-s SIZE] [-w WARMUP] [-X producer.key=value ...]
 *                [-C consumer.key=value ...]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rdkafka.h"

static int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Latencies in microseconds, indexed by sequence number (-1 = none). */
static int32_t *e2e_us, *ack_us;
/* The offset each record was acknowledged at, by sequence number (-1 = none),
 * and the first offset the consumer got of each partition (-1 = none). */
static int64_t *ack_off;
static volatile int64_t first_consumed[64];
static int64_t total_msgs, warmup_msgs;
static volatile int64_t consumed_counted;
static volatile int stop_consumer;

static void fail(const char *what, const char *why) {
        fprintf(stderr, "latency: %s: %s\n", what, why);
        exit(1);
}

static void set(rd_kafka_conf_t *conf, const char *kv) {
        char errstr[512], key[256];
        const char *eq = strchr(kv, '=');
        if (!eq || (size_t)(eq - kv) >= sizeof(key))
                fail("bad -X/-C (want key=value)", kv);
        memcpy(key, kv, eq - kv);
        key[eq - kv] = 0;
        if (rd_kafka_conf_set(conf, key, eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
                fail(kv, errstr);
}

/* Payload: 8 bytes send time (ns), 8 bytes sequence number, padding. */
static int decode(const void *p, size_t len, int64_t *sent, int64_t *seq) {
        if (len < 16)
                return -1;
        memcpy(sent, p, 8);
        memcpy(seq, (const char *)p + 8, 8);
        return (*seq >= 0 && *seq < total_msgs) ? 0 : -1;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        int64_t sent, seq;
        (void)rk;
        (void)opaque;
        if (m->err) {
                fprintf(stderr, "latency: delivery failed: %s\n", rd_kafka_err2str(m->err));
                return;
        }
        if (decode(m->payload, m->len, &sent, &seq) == 0) {
                ack_off[seq] = m->offset;
                if (seq >= warmup_msgs)
                        ack_us[seq] = (int32_t)((now_ns() - sent) / 1000);
        }
}

static void *consume(void *arg) {
        rd_kafka_t *rk = arg;
        while (!stop_consumer) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (!m)
                        continue;
                if (!m->err) {
                        int64_t now = now_ns(), sent, seq;
                        if (m->partition >= 0 && m->partition < 64 && first_consumed[m->partition] < 0)
                                first_consumed[m->partition] = m->offset;
                        if (decode(m->payload, m->len, &sent, &seq) == 0 && seq >= warmup_msgs &&
                            e2e_us[seq] < 0) {
                                e2e_us[seq] = (int32_t)((now - sent) / 1000);
                                consumed_counted++;
                        }
                } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        fprintf(stderr, "latency: consumer: %s\n", rd_kafka_message_errstr(m));
                }
                rd_kafka_message_destroy(m);
        }
        return NULL;
}

static int cmp32(const void *a, const void *b) {
        int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
        return x < y ? -1 : x > y;
}

/* Sorted copy of the measured values (those >= 0); returns the count. */
static int64_t collect(const int32_t *v, int32_t *out) {
        int64_t n = 0, i;
        for (i = warmup_msgs; i < total_msgs; i++)
                if (v[i] >= 0)
                        out[n++] = v[i];
        qsort(out, (size_t)n, sizeof(*out), cmp32);
        return n;
}

static double pct(const int32_t *sorted, int64_t n, double p) {
        int64_t i;
        if (n == 0)
                return -1;
        i = (int64_t)(p * (double)n + 0.5) - 1;
        if (i < 0)
                i = 0;
        if (i >= n)
                i = n - 1;
        return sorted[i] / 1000.0;
}

int main(int argc, char **argv) {
        const char *bootstrap = NULL, *topic = NULL;
        int partitions = 0, size = 100, opt, i;
        double rate = 0, seconds = 0, warmup = 1.0;
        char errstr[512];
        rd_kafka_conf_t *pconf = rd_kafka_conf_new(), *cconf = rd_kafka_conf_new();
        rd_kafka_t *producer, *consumer;
        rd_kafka_topic_partition_list_t *assignment;
        pthread_t consumer_thread;
        char *payload;
        int64_t start, sent_msgs = 0, t, n_e2e, n_ack;
        int32_t *sorted;

        while ((opt = getopt(argc, argv, "b:t:n:r:d:s:w:X:C:")) != -1) {
                switch (opt) {
                case 'b': bootstrap = optarg; break;
                case 't': topic = optarg; break;
                case 'n': partitions = atoi(optarg); break;
                case 'r': rate = atof(optarg); break;
                case 'd': seconds = atof(optarg); break;
                case 's': size = atoi(optarg); break;
                case 'w': warmup = atof(optarg); break;
                case 'X': set(pconf, optarg); break;
                case 'C': set(cconf, optarg); break;
                default: fail("usage", "latency -b BOOTSTRAP -t TOPIC -n PARTITIONS -r RATE -d SECONDS [-s SIZE] [-w WARMUP] [-X k=v] [-C k=v]");
                }
        }
        if (!bootstrap || !topic || partitions <= 0 || rate <= 0 || seconds <= 0 || warmup < 0)
                fail("usage", "latency -b BOOTSTRAP -t TOPIC -n PARTITIONS -r RATE -d SECONDS [-s SIZE] [-w WARMUP] [-X k=v] [-C k=v]");
        if (size < 16)
                size = 16;
        warmup_msgs = (int64_t)(rate * warmup);
        total_msgs = warmup_msgs + (int64_t)(rate * seconds);
        e2e_us = malloc(sizeof(int32_t) * total_msgs);
        ack_us = malloc(sizeof(int32_t) * total_msgs);
        ack_off = malloc(sizeof(int64_t) * total_msgs);
        sorted = malloc(sizeof(int32_t) * total_msgs);
        payload = calloc(1, (size_t)size);
        if (!e2e_us || !ack_us || !ack_off || !sorted || !payload)
                fail("malloc", strerror(errno));
        memset(e2e_us, 0xff, sizeof(int32_t) * total_msgs);
        memset(ack_us, 0xff, sizeof(int32_t) * total_msgs);
        memset(ack_off, 0xff, sizeof(int64_t) * total_msgs);
        for (i = 0; i < 64; i++)
                first_consumed[i] = -1;

        rd_kafka_conf_set(pconf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
        rd_kafka_conf_set_dr_msg_cb(pconf, dr_cb);
        rd_kafka_conf_set(cconf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
        set(cconf, "group.id=zkafka-latency-bench");
        set(cconf, "enable.auto.commit=false");
        set(cconf, "enable.partition.eof=false");
        if (!(producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof(errstr))))
                fail("producer", errstr);
        if (!(consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, sizeof(errstr))))
                fail("consumer", errstr);
        rd_kafka_poll_set_consumer(consumer);
        /* Each partition is assigned at its high watermark, read before the
         * first record is sent: the consumer's start is then fixed, so a
         * record sent later and not consumed is a record lost, never a late
         * positioning (as RD_KAFKA_OFFSET_END, resolved when the consumer
         * first fetches, could be). */
        assignment = rd_kafka_topic_partition_list_new(partitions);
        for (i = 0; i < partitions; i++) {
                int64_t lo = 0, hi = 0;
                rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(consumer, topic, i, &lo, &hi, 10000);
                if (err)
                        fail("query_watermark_offsets", rd_kafka_err2str(err));
                rd_kafka_topic_partition_list_add(assignment, topic, i)->offset = hi;
        }
        if (rd_kafka_assign(consumer, assignment))
                fail("assign", "failed");
        rd_kafka_topic_partition_list_destroy(assignment);
        pthread_create(&consumer_thread, NULL, consume, consumer);
        /* The warm-up covers the connections and the producer's first
         * metadata. */

        start = now_ns();
        while (sent_msgs < total_msgs) {
                int64_t due;
                t = now_ns();
                due = (int64_t)((double)(t - start) * rate / 1e9) + 1;
                if (due > total_msgs)
                        due = total_msgs;
                while (sent_msgs < due) {
                        int64_t ts = now_ns();
                        memcpy(payload, &ts, 8);
                        memcpy(payload + 8, &sent_msgs, 8);
                        if (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic),
                                              RD_KAFKA_V_PARTITION((int32_t)(sent_msgs % partitions)),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              RD_KAFKA_V_VALUE(payload, (size_t)size), RD_KAFKA_V_END)) {
                                rd_kafka_poll(producer, 1); /* queue full: let it drain */
                                continue;
                        }
                        sent_msgs++;
                }
                rd_kafka_poll(producer, 0);
                {
                        /* Sleep to the next 1/10 ms tick (or the next record, if later). */
                        int64_t next = start + (int64_t)((double)(sent_msgs) * 1e9 / rate);
                        int64_t tick = now_ns() + 100000;
                        struct timespec ts;
                        if (next < tick)
                                next = tick;
                        ts.tv_sec = next / 1000000000LL;
                        ts.tv_nsec = next % 1000000000LL;
                        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
                }
        }
        rd_kafka_flush(producer, 30000);
        /* Wait (up to 10 s) for the consumer to see every counted record. */
        for (i = 0; i < 1000 && consumed_counted < total_msgs - warmup_msgs; i++)
                usleep(10000);
        stop_consumer = 1;
        pthread_join(consumer_thread, NULL);

        n_e2e = collect(e2e_us, sorted);
        printf("latency: sent %" PRId64 " counted %" PRId64 " e2e_p50_ms %.3f e2e_p99_ms %.3f e2e_p999_ms %.3f e2e_max_ms %.3f",
               total_msgs, n_e2e, pct(sorted, n_e2e, 0.5), pct(sorted, n_e2e, 0.99), pct(sorted, n_e2e, 0.999),
               n_e2e ? sorted[n_e2e - 1] / 1000.0 : -1.0);
        n_ack = collect(ack_us, sorted);
        printf(" ack_p50_ms %.3f ack_p99_ms %.3f ack_p999_ms %.3f missing %" PRId64 "\n", pct(sorted, n_ack, 0.5),
               pct(sorted, n_ack, 0.99), pct(sorted, n_ack, 0.999), (total_msgs - warmup_msgs) - n_e2e);
        {
                /* Which counted records were not consumed (a block at the start
                 * is the consumer positioning late; holes would be records
                 * the brokers lost) and how many were never acknowledged. */
                int64_t first = -1, last = -1, not_acked = 0, j;
                int64_t per_part[64] = {0}, max_missing_off[64], holes = 0;
                for (i = 0; i < 64; i++)
                        max_missing_off[i] = -1;
                for (j = warmup_msgs; j < total_msgs; j++) {
                        if (ack_us[j] < 0)
                                not_acked++;
                        if (e2e_us[j] >= 0)
                                continue;
                        if (first < 0)
                                first = j;
                        last = j;
                        per_part[(j % partitions) % 64]++;
                        if (ack_off[j] > max_missing_off[(j % partitions) % 64])
                                max_missing_off[(j % partitions) % 64] = ack_off[j];
                        /* An acknowledged record at or after the consumer's
                         * first offset of its partition that it never got is
                         * a hole; before it, the consumer started late. */
                        if (ack_off[j] >= 0 && first_consumed[(j % partitions) % 64] >= 0 &&
                            ack_off[j] >= first_consumed[(j % partitions) % 64])
                                holes++;
                }
                printf("detail: not_acked %" PRId64 " missing_first_seq %" PRId64 " missing_last_seq %" PRId64
                       " (counted records are seq %" PRId64 "..%" PRId64 ") missing_per_partition",
                       not_acked, first, last, warmup_msgs, total_msgs - 1);
                for (i = 0; i < partitions && i < 64; i++)
                        printf(" %" PRId64, per_part[i]);
                printf(" missing_max_offset/first_consumed_offset");
                for (i = 0; i < partitions && i < 64; i++)
                        printf(" %" PRId64 "/%" PRId64, max_missing_off[i], (int64_t)first_consumed[i]);
                printf(" acked_at_or_after_first_consumed_but_not_consumed %" PRId64 "\n", holes);
        }
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
        rd_kafka_destroy(producer);
        return n_e2e > 0 ? 0 : 1;
}
