{
  "targets": [
    {
      "target_name": "sss_aead",
      "sources": ["native/aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
