/*
 * ChaCha20-Poly1305 (RFC 8439 §2.8) for the per-packet path, through the OpenSSL that Node
 * itself links and exports.
 *
 * node:crypto makes a cipher object for every packet and returns a new Buffer for every
 * output; at 64 KiB datagrams that allocation and the copy after it cost about as much as the
 * cipher itself, and the external memory it churns drives V8's collector. Here one context per
 * direction lives as long as the module instance, and the output goes where the caller says,
 * which may be the input itself: a received datagram is opened where it lies.
 *
 * Arguments are checked in TypeScript (src/crypto/aead-addon.ts); what is checked again here is
 * only what keeps a bad call from touching memory it does not own.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BYTES 32
#define NONCE_BYTES 12
#define TAG_BYTES 16

typedef struct {
  EVP_CIPHER_CTX *seal;
  EVP_CIPHER_CTX *open;
} Contexts;

static void free_contexts(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Contexts *contexts = data;
  EVP_CIPHER_CTX_free(contexts->seal);
  EVP_CIPHER_CTX_free(contexts->open);
  free(contexts);
}

typedef struct {
  unsigned char *data;
  size_t length;
} Bytes;

/* A Uint8Array (or Buffer) argument; false, with a TypeError pending, for anything else. */
static int get_bytes(napi_env env, napi_value value, const char *name, Bytes *out) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) == napi_ok && is_typed &&
      napi_get_typedarray_info(env, value, &type, &out->length, (void **)&out->data, &buffer,
                               &offset) == napi_ok &&
      type == napi_uint8_array) {
    return 1;
  }
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", name);
  return 0;
}

/* The six arguments of both calls: key, nonce, ad, input, out, offset. */
typedef struct {
  Bytes key, nonce, ad, input, out;
  size_t offset;
} Call;

static int get_call(napi_env env, napi_callback_info info, Call *call) {
  size_t argc = 6;
  napi_value argv[6];
  double offset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "six arguments expected");
    return 0;
  }
  if (!get_bytes(env, argv[0], "key must be a Uint8Array", &call->key) ||
      !get_bytes(env, argv[1], "nonce must be a Uint8Array", &call->nonce) ||
      !get_bytes(env, argv[2], "ad must be a Uint8Array", &call->ad) ||
      !get_bytes(env, argv[3], "input must be a Uint8Array", &call->input) ||
      !get_bytes(env, argv[4], "out must be a Uint8Array", &call->out)) {
    return 0;
  }
  if (napi_get_value_double(env, argv[5], &offset) != napi_ok || !(offset >= 0) ||
      offset > (double)call->out.length || offset != (double)(size_t)offset) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset must be an index into out");
    return 0;
  }
  call->offset = (size_t)offset;
  if (call->key.length != KEY_BYTES || call->nonce.length != NONCE_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "key must be 32 bytes and nonce 12");
    return 0;
  }
  if (call->input.length > INT32_MAX || call->ad.length > INT32_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "input and ad must be under 2 GiB");
    return 0;
  }
  return 1;
}

/*
 * OpenSSL works in place only when output and input start at the same byte; any other overlap
 * would read bytes it had already overwritten.
 */
static int bad_overlap(const unsigned char *in, size_t in_length, const unsigned char *out,
                       size_t out_length) {
  if (in == out) return 0;
  return in < out + out_length && out < in + in_length;
}

static napi_value number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

/* seal(key, nonce, ad, plaintext, out, offset): writes ciphertext and tag; their length. */
static napi_value seal(napi_env env, napi_callback_info info) {
  Call call;
  Contexts *contexts;
  if (!get_call(env, info, &call)) return NULL;
  size_t length = call.input.length;
  if (call.out.length - call.offset < length + TAG_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "out has no room for the sealed bytes");
    return NULL;
  }
  unsigned char *dst = call.out.data + call.offset;
  if (bad_overlap(call.input.data, length, dst, length + TAG_BYTES)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "out overlaps plaintext at another start");
    return NULL;
  }
  napi_get_instance_data(env, (void **)&contexts);
  EVP_CIPHER_CTX *ctx = contexts->seal;
  int written;
  if (!EVP_EncryptInit_ex(ctx, NULL, NULL, call.key.data, call.nonce.data) ||
      !EVP_EncryptUpdate(ctx, NULL, &written, call.ad.data, (int)call.ad.length) ||
      !EVP_EncryptUpdate(ctx, dst, &written, call.input.data, (int)length) ||
      !EVP_EncryptFinal_ex(ctx, dst + written, &written) ||
      !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, dst + length)) {
    napi_throw_error(env, "ERR_CRYPTO_OPERATION_FAILED", "ChaCha20-Poly1305 seal failed");
    return NULL;
  }
  return number(env, (double)(length + TAG_BYTES));
}

/*
 * open(key, nonce, ad, ciphertext, out, offset): the plaintext's length, or -1 when the tag does
 * not verify. OpenSSL writes plaintext before it has checked the tag, so on failure that range
 * of `out` is zeroed: no unauthenticated byte is left for a caller to mistake for data.
 */
static napi_value open_(napi_env env, napi_callback_info info) {
  Call call;
  Contexts *contexts;
  if (!get_call(env, info, &call)) return NULL;
  if (call.input.length < TAG_BYTES) return number(env, -1);
  size_t length = call.input.length - TAG_BYTES;
  if (call.out.length - call.offset < length) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "out has no room for the plaintext");
    return NULL;
  }
  unsigned char *dst = call.out.data + call.offset;
  if (bad_overlap(call.input.data, call.input.length, dst, length)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "out overlaps ciphertext at another start");
    return NULL;
  }
  unsigned char tag[TAG_BYTES];
  memcpy(tag, call.input.data + length, TAG_BYTES);
  napi_get_instance_data(env, (void **)&contexts);
  EVP_CIPHER_CTX *ctx = contexts->open;
  int written;
  if (!EVP_DecryptInit_ex(ctx, NULL, NULL, call.key.data, call.nonce.data) ||
      !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, tag) ||
      !EVP_DecryptUpdate(ctx, NULL, &written, call.ad.data, (int)call.ad.length) ||
      !EVP_DecryptUpdate(ctx, dst, &written, call.input.data, (int)length) ||
      EVP_DecryptFinal_ex(ctx, dst + written, &written) <= 0) {
    memset(dst, 0, length);
    return number(env, -1);
  }
  return number(env, (double)length);
}

NAPI_MODULE_INIT() {
  Contexts *contexts = calloc(1, sizeof *contexts);
  if (contexts == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  contexts->seal = EVP_CIPHER_CTX_new();
  contexts->open = EVP_CIPHER_CTX_new();
  /* The cipher is chosen once; each call sets only key and nonce (12 bytes is the default). */
  if (contexts->seal == NULL || contexts->open == NULL ||
      !EVP_EncryptInit_ex(contexts->seal, EVP_chacha20_poly1305(), NULL, NULL, NULL) ||
      !EVP_DecryptInit_ex(contexts->open, EVP_chacha20_poly1305(), NULL, NULL, NULL)) {
    free_contexts(env, contexts, NULL);
    napi_throw_error(env, NULL, "OpenSSL has no ChaCha20-Poly1305");
    return NULL;
  }
  if (napi_set_instance_data(env, contexts, free_contexts, NULL) != napi_ok) {
    free_contexts(env, contexts, NULL);
    return NULL;
  }
  napi_value fn;
  napi_create_function(env, "seal", NAPI_AUTO_LENGTH, seal, NULL, &fn);
  napi_set_named_property(env, exports, "seal", fn);
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  return exports;
}
