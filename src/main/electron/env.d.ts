// import.meta.env.DEV: true only in `electron-vite dev` builds (replaced at build time).
/// <reference types="electron-vite/node" />
