/*
 * liteship's instruction counter for QEMU user mode, QEMU 9 and later (TCG plugin API version 2 and up).
 *
 * count.c ported: the same markers, protocol and output, for the QEMU that liteship builds for the SME2 backends
 * (arm64-a18). QEMU 9 removed the inline add to a plain counter that count.c uses; here each translated block's
 * counter is one 64-bit entry of a per-vCPU scoreboard, added to inline, summed over the vCPUs when a region ends.
 *
 * Every translated block gets an inline add of its instruction count to a counter of its own, keyed by
 * (guest address, length), so a count can be split by address afterwards (which library, which kernel).
 * The guest marks what to count with a harmless syscall, getppid, whose unused argument registers carry
 * a magic number and a command:
 *
 *     getppid(MAGIC, 1)          start a region: every counter is set to 0
 *     getppid(MAGIC, 2)          end a region: write the nonzero counters to the output file
 *     getppid(MAGIC, 3, lo, hi)  leave [lo, hi) out of the region's total (the Python interpreter itself)
 *
 * Output (plugin argument out=PATH), per region:
 *     region TOTAL_OUTSIDE_EXCLUDED
 *     tb ADDRESS_HEX LENGTH INSTRUCTIONS        (one line per block that ran, excluded ones too)
 *     end
 *
 * Built at install against the qemu-plugin.h of the QEMU it is loaded into (that header is not part of
 * liteship): gcc -O2 -shared -fPIC -fvisibility=hidden -I$QEMU/include $(pkg-config --cflags glib-2.0).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAGIC UINT64_C(0x6c697465736869) /* "liteshi" */
#define SYS_GETPPID_AARCH64 173
#define CHUNK 65536 /* blocks per scoreboard: one 64-bit entry each */

struct block {
    qemu_plugin_u64 count; /* the inline add's target: an entry of its chunk's scoreboard */
    uint64_t vaddr;
    uint64_t length;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct block **chunks; /* blocks never move: inline adds hold their scoreboard entry */
static struct qemu_plugin_scoreboard **boards;
static size_t n_chunks, n_blocks;
static struct block **table; /* open addressing over (vaddr, length) */
static size_t table_size;
static uint64_t exclude_lo[16], exclude_hi[16];
static int n_exclude;
static FILE *out;

static size_t slot_of(uint64_t vaddr, uint64_t length, size_t size) {
    uint64_t h = (vaddr ^ (length * UINT64_C(0x9e3779b97f4a7c15))) * UINT64_C(0xff51afd7ed558ccd);
    return (size_t)(h >> 17) & (size - 1);
}

static void grow(void) {
    size_t size = table_size ? table_size * 2 : 1 << 16;
    struct block **bigger = calloc(size, sizeof *bigger);
    if (!bigger) abort();
    for (size_t i = 0; i < table_size; i++) {
        struct block *b = table[i];
        if (!b) continue;
        size_t s = slot_of(b->vaddr, b->length, size);
        while (bigger[s]) s = (s + 1) & (size - 1);
        bigger[s] = b;
    }
    free(table);
    table = bigger;
    table_size = size;
}

static struct block *block_for(uint64_t vaddr, uint64_t length) {
    if ((n_blocks + 1) * 2 > table_size) grow();
    size_t s = slot_of(vaddr, length, table_size);
    while (table[s]) {
        if (table[s]->vaddr == vaddr && table[s]->length == length) return table[s];
        s = (s + 1) & (table_size - 1);
    }
    if (n_blocks % CHUNK == 0) {
        chunks = realloc(chunks, (n_chunks + 1) * sizeof *chunks);
        boards = realloc(boards, (n_chunks + 1) * sizeof *boards);
        if (!chunks || !boards) abort();
        chunks[n_chunks] = calloc(CHUNK, sizeof(struct block));
        if (!chunks[n_chunks]) abort();
        boards[n_chunks] = qemu_plugin_scoreboard_new(CHUNK * sizeof(uint64_t));
        n_chunks++;
    }
    size_t i = n_blocks % CHUNK;
    struct block *b = &chunks[n_blocks / CHUNK][i];
    b->count.score = boards[n_blocks / CHUNK];
    b->count.offset = i * sizeof(uint64_t);
    n_blocks++;
    b->vaddr = vaddr;
    b->length = length;
    table[s] = b;
    return b;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    uint64_t length = qemu_plugin_tb_n_insns(tb);
    pthread_mutex_lock(&lock);
    struct block *b = block_for(qemu_plugin_tb_vaddr(tb), length);
    pthread_mutex_unlock(&lock);
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, b->count, length);
}

static bool excluded(uint64_t vaddr) {
    for (int i = 0; i < n_exclude; i++)
        if (vaddr >= exclude_lo[i] && vaddr < exclude_hi[i]) return true;
    return false;
}

static void end_region(void) {
    uint64_t total = 0;
    for (size_t i = 0; i < n_blocks; i++) {
        struct block *b = &chunks[i / CHUNK][i % CHUNK];
        if (!excluded(b->vaddr)) total += qemu_plugin_u64_sum(b->count);
    }
    fprintf(out, "region %" PRIu64 "\n", total);
    for (size_t i = 0; i < n_blocks; i++) {
        struct block *b = &chunks[i / CHUNK][i % CHUNK];
        uint64_t count = qemu_plugin_u64_sum(b->count);
        if (count)
            fprintf(out, "tb %" PRIx64 " %" PRIu64 " %" PRIu64 "\n", b->vaddr, b->length, count);
    }
    fprintf(out, "end\n");
    fflush(out);
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
    if (num != SYS_GETPPID_AARCH64 || a1 != MAGIC) return;
    pthread_mutex_lock(&lock);
    if (a2 == 1) {
        int vcpus = qemu_plugin_num_vcpus();
        for (size_t i = 0; i < n_blocks; i++)
            for (int v = 0; v < vcpus; v++) qemu_plugin_u64_set(chunks[i / CHUNK][i % CHUNK].count, v, 0);
    } else if (a2 == 2) {
        end_region();
    } else if (a2 == 3 && n_exclude < 16) {
        exclude_lo[n_exclude] = a3;
        exclude_hi[n_exclude] = a4;
        n_exclude++;
    }
    pthread_mutex_unlock(&lock);
}

static void at_exit(qemu_plugin_id_t id, void *userdata) {
    if (out) fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "out=", 4) == 0) out = fopen(argv[i] + 4, "w");
    if (!out) {
        fprintf(stderr, "liteship count plugin: pass out=PATH\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
