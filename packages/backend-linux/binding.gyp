{
  "targets": [
    {
      "target_name": "kmm_move_pages",
      "sources": ["native/move_pages.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
