/*
 * A stand-in for miniaudio.h, ours, so that Ollama v0.11.5 and later build
 * from the Go module zip: the zip drops llama.cpp's vendor/ folder, and no
 * Debian package ships miniaudio (shared/reference/real-ollama.md).
 *
 * It declares only what llama.cpp's tools/mtmd/mtmd-helper.cpp calls, and
 * every decoder fails, so audio input is refused; text generation, which is
 * all the tests use, does not touch it. A later llama.cpp that calls more of
 * miniaudio fails to compile here, naming the missing symbol.
 */
#ifndef LLMBENCH_MINIAUDIO_STUB_H
#define LLMBENCH_MINIAUDIO_STUB_H

#include <stddef.h>

#ifndef MA_API
#define MA_API static
#endif

typedef unsigned long long ma_uint64;
typedef unsigned int ma_uint32;
typedef int ma_result;
#define MA_SUCCESS 0
#define MA_ERROR (-1)

typedef enum { ma_format_unknown = 0, ma_format_f32 = 5 } ma_format;
typedef enum { ma_encoding_format_unknown = 0, ma_encoding_format_wav = 1 } ma_encoding_format;

typedef struct { ma_format format; ma_uint32 channels; ma_uint32 sampleRate; } ma_decoder_config;
typedef struct { int unused; } ma_decoder;
typedef struct { ma_encoding_format encodingFormat; ma_format format; ma_uint32 channels; ma_uint32 sampleRate; } ma_encoder_config;
typedef struct { int unused; } ma_encoder;

MA_API inline ma_decoder_config ma_decoder_config_init(ma_format f, ma_uint32 ch, ma_uint32 rate) {
    ma_decoder_config c; c.format = f; c.channels = ch; c.sampleRate = rate; return c;
}
MA_API inline ma_result ma_decoder_init_memory(const void *d, size_t n, const ma_decoder_config *c, ma_decoder *dec) {
    (void)d; (void)n; (void)c; (void)dec; return MA_ERROR;
}
MA_API inline ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder *dec, ma_uint64 *n) {
    (void)dec; if (n) *n = 0; return MA_ERROR;
}
MA_API inline ma_result ma_decoder_read_pcm_frames(ma_decoder *dec, void *out, ma_uint64 n, ma_uint64 *read) {
    (void)dec; (void)out; (void)n; if (read) *read = 0; return MA_ERROR;
}
MA_API inline ma_result ma_decoder_uninit(ma_decoder *dec) { (void)dec; return MA_SUCCESS; }

MA_API inline ma_encoder_config ma_encoder_config_init(ma_encoding_format e, ma_format f, ma_uint32 ch, ma_uint32 rate) {
    ma_encoder_config c; c.encodingFormat = e; c.format = f; c.channels = ch; c.sampleRate = rate; return c;
}
MA_API inline ma_result ma_encoder_init_file(const char *p, const ma_encoder_config *c, ma_encoder *e) {
    (void)p; (void)c; (void)e; return MA_ERROR;
}
MA_API inline ma_result ma_encoder_write_pcm_frames(ma_encoder *e, const void *in, ma_uint64 n, ma_uint64 *w) {
    (void)e; (void)in; (void)n; if (w) *w = 0; return MA_ERROR;
}
MA_API inline void ma_encoder_uninit(ma_encoder *e) { (void)e; }

#endif
