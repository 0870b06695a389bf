{
  # node-gyp build of the CPU-only addon (build/Release/metacot_cpu.node), from the same source lists
  # as CMakeLists.txt. The main build is cmake-js (npm install); this is the fallback for toolchains
  # without CMake: `npm run build:gyp`.
  "targets": [
    {
      "target_name": "metacot_cpu",
      "sources": [
        "<!@(node scripts/sources.mjs native/sources.txt native/addon_sources.txt)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        ".",
        "kernels"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-fopenmp-simd"],
      "cflags!": ["-fno-exceptions"],
      "ldflags": ["-pthread"]
    }
  ]
}
