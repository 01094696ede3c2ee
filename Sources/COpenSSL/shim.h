#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* OpenSSL's configuration macros (SSL_CTX_ctrl and BIO_ctrl with constants) cannot be
 * called from Swift: each is a static inline function here. */

static inline int tg_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

/* As Postgres configures its server context: no renegotiation, no compression, no session
 * tickets or cache (libpq never resumes), buffers released while a connection is idle. */
static inline void tg_ctx_configure(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET
                             | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

/* ALPN as Postgres 17 answers it: "postgresql" when the client offers it; a client that
 * offers only other protocols gets the no_application_protocol alert. */
static inline int tg_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                 const unsigned char *in, unsigned int inlen, void *arg) {
    static const unsigned char wanted[] = "\x0apostgresql";
    (void)ssl; (void)arg;
    unsigned char *selected = NULL;
    unsigned char selected_len = 0;
    if (SSL_select_next_proto(&selected, &selected_len, wanted, sizeof(wanted) - 1, in, inlen)
        == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        *outlen = selected_len;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static inline void tg_ctx_enable_alpn(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, tg_alpn_select, NULL);
}

static inline int tg_set_sni(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline void tg_bio_set_retry_when_empty(BIO *bio) {
    BIO_set_mem_eof_return(bio, -1);
}

static inline int tg_err_reason(unsigned long code) {
    return ERR_GET_REASON(code);
}

static inline int tg_err_is_ssl_library(unsigned long code) {
    return ERR_GET_LIB(code) == ERR_LIB_SSL;
}
