"""The local card processor: a small implementation of the hosted processor's HTTP API (a subset of Stripe's v1
PaymentIntents API) under /card-processor/, for the embedded setup, the demo and the tests. Stripe's documented
test card numbers decide the outcomes (see `cards`); webhooks are posted back to us signed (see `events`).
It is served only when settings.CARD_LOCAL_PROCESSOR is on."""
