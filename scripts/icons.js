// Renders build/icon.svg — the one drawn source of the app icon — into what electron-builder takes from build/:
// icon.png (1024 px: Linux, and the source of the others), icon.ico (Windows, 16–256 px) and icon.icns (macOS).
// Run by `npm run icons` and every `npm run dist*` before electron-builder; the outputs are not committed
// (build/.gitignore). resvg renders the SVG (no browser, no native build); png2icons packs ICO and ICNS.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Resvg } from '@resvg/resvg-js'
import png2icons from 'png2icons'

const build = fileURLToPath(new URL('../build/', import.meta.url))
const ICON_PX = 1024

const png = new Resvg(readFileSync(`${build}icon.svg`), { fitTo: { mode: 'width', value: ICON_PX } }).render().asPng()
const ico = png2icons.createICO(png, png2icons.BICUBIC2, 0, true, true)
const icns = png2icons.createICNS(png, png2icons.BICUBIC2, 0)
if (ico === null || icns === null) {
  process.stderr.write('icons: png2icons could not convert the rendered PNG\n  check build/icon.svg renders to a square image\n')
  process.exit(1)
}
writeFileSync(`${build}icon.png`, png)
writeFileSync(`${build}icon.ico`, ico)
writeFileSync(`${build}icon.icns`, icns)
process.stdout.write(`icons: build/icon.png (${ICON_PX} px), build/icon.ico, build/icon.icns\n`)
