/*
 * Keccak-256 (Ethereum's: Keccak padding 0x01, not NIST SHA3's 0x06) of many messages in one call.
 *
 * Wrapping a batch of OpenAttestation documents hashes tens of thousands of short, independent
 * messages (one per salted field, one per document, one per Merkle node). Hashed one Python call
 * at a time, about half of each hash is call overhead; here the whole list is hashed in one call,
 * without the GIL, and where the CPU has the vector units, several messages at once: one Keccak
 * state per 64-bit vector lane (8 lanes with AVX-512F, 4 with AVX2, else 1). The permutation is
 * the same code for every width; only the lane type and its four operations differ.
 *
 * Python API (module gateway.documents._keccak; the wrapper is gateway/documents/keccak.py):
 *   keccak256_many(items, *, hex=False, lanes=0) -> list[bytes] | list[str]
 *   merkle_parents(layer, *, lanes=0) -> list[bytes]
 *   best_lanes() -> int
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86_VECTORS 1
#else
#define HAVE_X86_VECTORS 0
#endif

#define RATE 136 /* bytes absorbed per permutation for a 256-bit digest */
#define RATE_WORDS 17
#define MAX_LANES 8
#define GIL_FREE_FROM 64         /* messages; below this and GIL_FREE_BYTES, releasing the GIL costs more */
#define GIL_FREE_BYTES (64 << 10) /* than it gives */

static const uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* One round of Keccak-f[1600] on the 25 lanes a0..a24 (lane x + 5y is a<x+5y>), with the temporaries
 * b0..b24, c0..c4, d0..d4 declared by the caller, written out in full so that every lane is a named
 * variable (registers, not memory) and every rotation count is a literal. Spelled out from the
 * specification's steps:
 *   theta  c[x] = a[x] ^ a[x+5] ^ a[x+10] ^ a[x+15] ^ a[x+20];  d[x] = c[x-1] ^ rol(c[x+1], 1)
 *   rho+pi b[y + 5((2x+3y) mod 5)] = rol(a[x+5y] ^ d[x], r[x+5y]), with the rotation offsets
 *          r = 0 1 62 28 27 / 36 44 6 55 20 / 3 10 43 25 39 / 41 45 15 21 8 / 18 2 61 56 14
 *   chi    a[x+5y] = b[x+5y] ^ (~b[(x+1)+5y] & b[(x+2)+5y])  (x+1, x+2 mod 5)
 *   iota   a0 ^= rc
 * Its parameters are the lane operations XOR(a, b), XOR5(a, b, c, d, e), ROL(a, n) for 0 < n < 64,
 * CHI(a, b, c) = a ^ (~b & c) and RCV(k) (a lane holding the constant k). */
#define KECCAK_ROUND(rc, XOR, XOR5, ROL, CHI, RCV)                                                      \
    c0 = XOR5(a0, a5, a10, a15, a20); c1 = XOR5(a1, a6, a11, a16, a21);                                 \
    c2 = XOR5(a2, a7, a12, a17, a22); c3 = XOR5(a3, a8, a13, a18, a23);                                 \
    c4 = XOR5(a4, a9, a14, a19, a24); d0 = XOR(c4, ROL(c1, 1)); d1 = XOR(c0, ROL(c2, 1));               \
    d2 = XOR(c1, ROL(c3, 1)); d3 = XOR(c2, ROL(c4, 1)); d4 = XOR(c3, ROL(c0, 1)); b0 = XOR(a0, d0);     \
    b10 = ROL(XOR(a1, d1), 1); b20 = ROL(XOR(a2, d2), 62); b5 = ROL(XOR(a3, d3), 28);                   \
    b15 = ROL(XOR(a4, d4), 27); b16 = ROL(XOR(a5, d0), 36); b1 = ROL(XOR(a6, d1), 44);                  \
    b11 = ROL(XOR(a7, d2), 6); b21 = ROL(XOR(a8, d3), 55); b6 = ROL(XOR(a9, d4), 20);                   \
    b7 = ROL(XOR(a10, d0), 3); b17 = ROL(XOR(a11, d1), 10); b2 = ROL(XOR(a12, d2), 43);                 \
    b12 = ROL(XOR(a13, d3), 25); b22 = ROL(XOR(a14, d4), 39); b23 = ROL(XOR(a15, d0), 41);              \
    b8 = ROL(XOR(a16, d1), 45); b18 = ROL(XOR(a17, d2), 15); b3 = ROL(XOR(a18, d3), 21);                \
    b13 = ROL(XOR(a19, d4), 8); b14 = ROL(XOR(a20, d0), 18); b24 = ROL(XOR(a21, d1), 2);                \
    b9 = ROL(XOR(a22, d2), 61); b19 = ROL(XOR(a23, d3), 56); b4 = ROL(XOR(a24, d4), 14);                \
    a0 = CHI(b0, b1, b2); a1 = CHI(b1, b2, b3); a2 = CHI(b2, b3, b4); a3 = CHI(b3, b4, b0);             \
    a4 = CHI(b4, b0, b1); a5 = CHI(b5, b6, b7); a6 = CHI(b6, b7, b8); a7 = CHI(b7, b8, b9);             \
    a8 = CHI(b8, b9, b5); a9 = CHI(b9, b5, b6); a10 = CHI(b10, b11, b12); a11 = CHI(b11, b12, b13);     \
    a12 = CHI(b12, b13, b14); a13 = CHI(b13, b14, b10); a14 = CHI(b14, b10, b11);                       \
    a15 = CHI(b15, b16, b17); a16 = CHI(b16, b17, b18); a17 = CHI(b17, b18, b19);                       \
    a18 = CHI(b18, b19, b15); a19 = CHI(b19, b15, b16); a20 = CHI(b20, b21, b22);                       \
    a21 = CHI(b21, b22, b23); a22 = CHI(b22, b23, b24); a23 = CHI(b23, b24, b20);                       \
    a24 = CHI(b24, b20, b21); a0 = XOR(a0, RCV(rc));

/* The whole permutation over a lane-interleaved state: word w of lane j at s[w * width + j], read
 * and written with LOAD(p) / STORE(p, v) at s + w * width; OPS is the list of KECCAK_ROUND's lane
 * operations. */
#define KECCAK_F1600(T, width, LOAD, STORE, OPS)                                                        \
    T a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, \
        a22, a23, a24;                                                                                  \
    T b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, \
        b22, b23, b24, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;                                          \
    a0 = LOAD(s + 0 * width); a1 = LOAD(s + 1 * width); a2 = LOAD(s + 2 * width);                       \
    a3 = LOAD(s + 3 * width); a4 = LOAD(s + 4 * width); a5 = LOAD(s + 5 * width);                       \
    a6 = LOAD(s + 6 * width); a7 = LOAD(s + 7 * width); a8 = LOAD(s + 8 * width);                       \
    a9 = LOAD(s + 9 * width); a10 = LOAD(s + 10 * width); a11 = LOAD(s + 11 * width);                   \
    a12 = LOAD(s + 12 * width); a13 = LOAD(s + 13 * width); a14 = LOAD(s + 14 * width);                 \
    a15 = LOAD(s + 15 * width); a16 = LOAD(s + 16 * width); a17 = LOAD(s + 17 * width);                 \
    a18 = LOAD(s + 18 * width); a19 = LOAD(s + 19 * width); a20 = LOAD(s + 20 * width);                 \
    a21 = LOAD(s + 21 * width); a22 = LOAD(s + 22 * width); a23 = LOAD(s + 23 * width);                 \
    a24 = LOAD(s + 24 * width);                                                                         \
    for (int round = 0; round < 24; ++round) {                                                          \
        APPLY(KECCAK_ROUND, RC[round], OPS)                                                             \
    }                                                                                                   \
    STORE(s + 0 * width, a0); STORE(s + 1 * width, a1); STORE(s + 2 * width, a2);                       \
    STORE(s + 3 * width, a3); STORE(s + 4 * width, a4); STORE(s + 5 * width, a5);                       \
    STORE(s + 6 * width, a6); STORE(s + 7 * width, a7); STORE(s + 8 * width, a8);                       \
    STORE(s + 9 * width, a9); STORE(s + 10 * width, a10); STORE(s + 11 * width, a11);                   \
    STORE(s + 12 * width, a12); STORE(s + 13 * width, a13); STORE(s + 14 * width, a14);                 \
    STORE(s + 15 * width, a15); STORE(s + 16 * width, a16); STORE(s + 17 * width, a17);                 \
    STORE(s + 18 * width, a18); STORE(s + 19 * width, a19); STORE(s + 20 * width, a20);                 \
    STORE(s + 21 * width, a21); STORE(s + 22 * width, a22); STORE(s + 23 * width, a23);                 \
    STORE(s + 24 * width, a24);

/* m(args...) after the arguments are expanded: passes a list of lane operations as one argument. */
#define APPLY(m, ...) m(__VA_ARGS__)

/* ---- one state (portable C) ---------------------------------------------------------------- */
#define XOR_1(a, b) ((a) ^ (b))
#define XOR5_1(a, b, c, d, e) ((a) ^ (b) ^ (c) ^ (d) ^ (e))
#define ROL_1(a, n) (((a) << (n)) | ((a) >> (64 - (n))))
#define CHI_1(a, b, c) ((a) ^ (~(b) & (c)))
#define RCV_1(k) (k)
#define LOAD_1(p) (*(p))
#define STORE_1(p, v) (*(p) = (v))
#define OPS_1 XOR_1, XOR5_1, ROL_1, CHI_1, RCV_1

static void permute_1(uint64_t *s)
{
    KECCAK_F1600(uint64_t, 1, LOAD_1, STORE_1, OPS_1)
}

#if HAVE_X86_VECTORS
/* ---- four states (AVX2) ---------------------------------------------------------------------- */
#define XOR_4(a, b) _mm256_xor_si256((a), (b))
#define XOR5_4(a, b, c, d, e) XOR_4(XOR_4(XOR_4(a, b), XOR_4(c, d)), (e))
#define ROL_4(a, n) _mm256_or_si256(_mm256_slli_epi64((a), (n)), _mm256_srli_epi64((a), 64 - (n)))
#define CHI_4(a, b, c) XOR_4((a), _mm256_andnot_si256((b), (c)))
#define RCV_4(k) _mm256_set1_epi64x((long long)(k))
#define LOAD_4(p) _mm256_loadu_si256((const __m256i *)(p))
#define STORE_4(p, v) _mm256_storeu_si256((__m256i *)(p), (v))
#define OPS_4 XOR_4, XOR5_4, ROL_4, CHI_4, RCV_4

__attribute__((target("avx2"))) static void permute_4(uint64_t *s)
{
    KECCAK_F1600(__m256i, 4, LOAD_4, STORE_4, OPS_4)
}

/* ---- eight states (AVX-512F: rotate and three-input logic are single instructions) ------------ */
#define XOR_8(a, b) _mm512_xor_si512((a), (b))
#define XOR5_8(a, b, c, d, e) _mm512_ternarylogic_epi64(_mm512_ternarylogic_epi64((a), (b), (c), 0x96), (d), (e), 0x96)
#define ROL_8(a, n) _mm512_rol_epi64((a), (n))
#define CHI_8(a, b, c) _mm512_ternarylogic_epi64((a), (b), (c), 0xD2)
#define RCV_8(k) _mm512_set1_epi64((long long)(k))
#define LOAD_8(p) _mm512_loadu_si512((const void *)(p))
#define STORE_8(p, v) _mm512_storeu_si512((void *)(p), (v))
#define OPS_8 XOR_8, XOR5_8, ROL_8, CHI_8, RCV_8

__attribute__((target("avx512f"))) static void permute_8(uint64_t *s)
{
    KECCAK_F1600(__m512i, 8, LOAD_8, STORE_8, OPS_8)
}
#endif /* HAVE_X86_VECTORS */

typedef void (*permute_fn)(uint64_t *);

static permute_fn permute_for(int width)
{
#if HAVE_X86_VECTORS
    if (width == 8)
        return permute_8;
    if (width == 4)
        return permute_4;
#endif
    return permute_1;
}

/* A little-endian 64-bit word (Keccak's byte order), whatever the host's. */
static inline uint64_t load64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int k = 7; k >= 0; --k)
        v = (v << 8) | p[k];
    return v;
#endif
}

typedef struct {
    const uint8_t *data;
    Py_ssize_t size;
} message;

/* Keccak-256 of each of msgs[0..count) into out[32 * i], `width` messages at a time. Each lane takes
 * the next message as soon as it has squeezed its digest, so messages of different lengths share
 * the permutations. */
static void hash_messages(const message *msgs, Py_ssize_t count, uint8_t *out, int width)
{
    uint64_t state[25 * MAX_LANES];
    Py_ssize_t current[MAX_LANES], offset[MAX_LANES];
    int final[MAX_LANES];
    Py_ssize_t next = 0;
    int busy = 0;
    permute_fn permute = permute_for(width);

    memset(state, 0, sizeof state);
    for (int j = 0; j < width; ++j) {
        current[j] = next < count ? next++ : -1;
        offset[j] = 0;
        busy += current[j] >= 0;
    }
    while (busy) {
        for (int j = 0; j < width; ++j) {
            if (current[j] < 0)
                continue;
            const message *m = &msgs[current[j]];
            Py_ssize_t left = m->size - offset[j];
            const uint8_t *block = m->data + offset[j];
            uint8_t padded[RATE];
            if (left >= RATE) {
                offset[j] += RATE;
                final[j] = 0;
            } else { /* last block: the rest, then Keccak's pad10*1 with domain bits 0x01 */
                memcpy(padded, block, (size_t)left);
                memset(padded + left, 0, (size_t)(RATE - left));
                padded[left] = 0x01;
                padded[RATE - 1] |= 0x80;
                block = padded;
                final[j] = 1;
            }
            for (int w = 0; w < RATE_WORDS; ++w)
                state[w * width + j] ^= load64(block + 8 * w);
        }
        permute(state);
        for (int j = 0; j < width; ++j) {
            if (current[j] < 0 || !final[j])
                continue;
            uint8_t *digest = out + 32 * current[j];
            for (int w = 0; w < 4; ++w) {
                uint64_t v = state[w * width + j];
                for (int k = 0; k < 8; ++k)
                    digest[8 * w + k] = (uint8_t)(v >> (8 * k));
            }
            for (int w = 0; w < 25; ++w)
                state[w * width + j] = 0;
            offset[j] = 0;
            if (next < count) {
                current[j] = next++;
            } else {
                current[j] = -1;
                --busy;
            }
        }
    }
}

/* ---- Python glue ------------------------------------------------------------------------------ */

static int cpu_has(int width)
{
#if HAVE_X86_VECTORS
    __builtin_cpu_init();
    if (width == 8)
        return __builtin_cpu_supports("avx512f");
    if (width == 4)
        return __builtin_cpu_supports("avx2");
#endif
    return width == 1;
}

static int best_width(void)
{
    return cpu_has(8) ? 8 : cpu_has(4) ? 4 : 1;
}

static int parse_lanes(int lanes)
{
    if (lanes == 0)
        return best_width();
    if (lanes != 1 && lanes != 4 && lanes != 8) {
        PyErr_Format(PyExc_ValueError, "lanes must be 0 (best), 1, 4 or 8, got %d", lanes);
        return -1;
    }
    if (!cpu_has(lanes)) {
        PyErr_Format(PyExc_ValueError, "this CPU cannot hash %d messages at a time (%s)", lanes,
                     lanes == 8 ? "no AVX-512F" : "no AVX2");
        return -1;
    }
    return lanes;
}

/* One call's work: our own list of the caller's items (with the GIL released, another thread may
 * change the caller's list, not this one), the messages to hash and room for their digests. */
typedef struct {
    PyObject *list;
    PyObject **items;
    Py_ssize_t count;  /* items */
    Py_ssize_t hashes; /* messages: one per item, or one per pair of items */
    message *msgs;
    uint8_t *digests; /* 32 bytes per message */
    uint8_t *joined;  /* pairs only: 64 bytes per message, the sorted pair */
} batch;

static void batch_close(batch *b)
{
    PyMem_Free(b->msgs);
    PyMem_Free(b->digests);
    PyMem_Free(b->joined);
    Py_XDECREF(b->list);
}

static int batch_open(batch *b, PyObject *items, int pairs, const char *not_a_sequence)
{
    memset(b, 0, sizeof *b);
    if (!PySequence_Check(items) || PyUnicode_Check(items) || PyBytes_Check(items) || PyByteArray_Check(items)) {
        PyErr_SetString(PyExc_TypeError, not_a_sequence);
        return -1;
    }
    b->list = PySequence_List(items);
    if (b->list == NULL)
        return -1;
    b->items = PySequence_Fast_ITEMS(b->list);
    b->count = PyList_GET_SIZE(b->list);
    b->hashes = pairs ? b->count / 2 : b->count;
    size_t room = (size_t)(b->hashes ? b->hashes : 1);
    if (room > (size_t)PY_SSIZE_T_MAX / 64) {
        PyErr_NoMemory();
        return -1;
    }
    b->msgs = PyMem_Malloc(room * sizeof(message));
    b->digests = PyMem_Malloc(room * 32);
    b->joined = pairs ? PyMem_Malloc(room * 64) : NULL;
    if (b->msgs == NULL || b->digests == NULL || (pairs && b->joined == NULL)) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Hash the batch's messages; without the GIL where there is enough work for that to pay: many
 * messages, or a few long ones. */
static void batch_hash(batch *b, int width)
{
    Py_ssize_t bytes = 0;
    for (Py_ssize_t i = 0; i < b->hashes && bytes < GIL_FREE_BYTES; ++i)
        bytes += b->msgs[i].size;
    if (b->hashes >= GIL_FREE_FROM || bytes >= GIL_FREE_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        hash_messages(b->msgs, b->hashes, b->digests, width);
        Py_END_ALLOW_THREADS
    } else {
        hash_messages(b->msgs, b->hashes, b->digests, width);
    }
}

static const char HEX[] = "0123456789abcdef";

/* The batch's digests as a list of `extra` more items than digests: bytes, or hex str. */
static PyObject *digest_list(const batch *b, int hex, Py_ssize_t extra)
{
    PyObject *result = PyList_New(b->hashes + extra);
    if (result == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < b->hashes; ++i) {
        const uint8_t *d = b->digests + 32 * i;
        PyObject *item;
        if (hex) {
            item = PyUnicode_New(64, 127);
            if (item != NULL) {
                Py_UCS1 *text = PyUnicode_1BYTE_DATA(item);
                for (int k = 0; k < 32; ++k) {
                    text[2 * k] = (Py_UCS1)HEX[d[k] >> 4];
                    text[2 * k + 1] = (Py_UCS1)HEX[d[k] & 15];
                }
            }
        } else {
            item = PyBytes_FromStringAndSize((const char *)d, 32);
        }
        if (item == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyList_SET_ITEM(result, i, item);
    }
    return result;
}

PyDoc_STRVAR(keccak256_many_doc,
"keccak256_many(items, *, hex=False, lanes=0)\n--\n\n"
"Keccak-256 of each item (bytes, or str hashed as its UTF-8), as a list in the same order:\n"
"32-byte digests, or 64-character lowercase hex strings with hex=True. lanes: messages hashed\n"
"at a time (0: the most this CPU can; 1, 4 or 8).");

static PyObject *keccak256_many(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"items", "hex", "lanes", NULL};
    PyObject *items, *result = NULL;
    int hex = 0, lanes = 0;
    batch b;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$pi:keccak256_many", keywords, &items, &hex, &lanes))
        return NULL;
    int width = parse_lanes(lanes);
    if (width < 0)
        return NULL;
    if (batch_open(&b, items, 0, "keccak256_many: items must be a sequence of bytes or str") < 0)
        goto done;
    for (Py_ssize_t i = 0; i < b.count; ++i) {
        PyObject *item = b.items[i];
        if (PyBytes_Check(item)) {
            b.msgs[i].data = (const uint8_t *)PyBytes_AS_STRING(item);
            b.msgs[i].size = PyBytes_GET_SIZE(item);
        } else if (PyUnicode_Check(item)) {
            /* the UTF-8 is kept with the str (none is made for an ASCII one) */
            b.msgs[i].data = (const uint8_t *)PyUnicode_AsUTF8AndSize(item, &b.msgs[i].size);
            if (b.msgs[i].data == NULL)
                goto done; /* a lone surrogate: UnicodeEncodeError, as str.encode() raises */
        } else {
            PyErr_Format(PyExc_TypeError, "keccak256_many: item %zd must be bytes or str, got %.100s", i,
                         Py_TYPE(item)->tp_name);
            goto done;
        }
    }
    batch_hash(&b, width);
    result = digest_list(&b, hex, 0);
done:
    batch_close(&b);
    return result;
}

PyDoc_STRVAR(merkle_parents_doc,
"merkle_parents(layer, *, lanes=0)\n--\n\n"
"The next layer of an OpenAttestation Merkle tree: keccak256(min(a, b) + max(a, b)) of each\n"
"pair of 32-byte nodes, the last node of an odd layer carried up unchanged.");

static PyObject *merkle_parents(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"layer", "lanes", NULL};
    PyObject *layer, *result = NULL;
    int lanes = 0;
    batch b;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$i:merkle_parents", keywords, &layer, &lanes))
        return NULL;
    int width = parse_lanes(lanes);
    if (width < 0)
        return NULL;
    if (batch_open(&b, layer, 1, "merkle_parents: layer must be a sequence of 32-byte bytes") < 0)
        goto done;
    for (Py_ssize_t i = 0; i < b.count; ++i) {
        if (!PyBytes_Check(b.items[i]) || PyBytes_GET_SIZE(b.items[i]) != 32) {
            PyErr_Format(PyExc_ValueError, "merkle_parents: node %zd must be 32 bytes", i);
            goto done;
        }
    }
    for (Py_ssize_t p = 0; p < b.hashes; ++p) {
        const char *first = PyBytes_AS_STRING(b.items[2 * p]), *second = PyBytes_AS_STRING(b.items[2 * p + 1]);
        if (memcmp(first, second, 32) > 0) {
            const char *t = first;
            first = second;
            second = t;
        }
        memcpy(b.joined + 64 * p, first, 32);
        memcpy(b.joined + 64 * p + 32, second, 32);
        b.msgs[p].data = b.joined + 64 * p;
        b.msgs[p].size = 64;
    }
    batch_hash(&b, width);
    Py_ssize_t odd = b.count & 1;
    result = digest_list(&b, 0, odd);
    if (result != NULL && odd) { /* the odd node is carried up unchanged */
        Py_INCREF(b.items[b.count - 1]);
        PyList_SET_ITEM(result, b.hashes, b.items[b.count - 1]);
    }
done:
    batch_close(&b);
    return result;
}

static PyObject *best_lanes(PyObject *module, PyObject *unused)
{
    return PyLong_FromLong(best_width());
}

static PyMethodDef methods[] = {
    {"keccak256_many", (PyCFunction)(void (*)(void))keccak256_many, METH_VARARGS | METH_KEYWORDS, keccak256_many_doc},
    {"merkle_parents", (PyCFunction)(void (*)(void))merkle_parents, METH_VARARGS | METH_KEYWORDS, merkle_parents_doc},
    {"best_lanes", best_lanes, METH_NOARGS, "best_lanes()\n--\n\nMessages this CPU hashes at a time: 8, 4 or 1."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_keccak",
    .m_doc = "Keccak-256 of many messages in one call (see _keccak.c).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__keccak(void)
{
    return PyModule_Create(&module_def);
}
