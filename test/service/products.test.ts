/**
 * The product a query or a check claims, chosen once by the service for the CLI and the app alike: named for the
 * run (name, unique part, SKU GUID in any case), else the settings' default, else the catalog's default; a stale
 * settings default is a warning, never a stop. (The CLI's wording of the usage errors: test/cli/query.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { ApiFailure } from '../../src-main/api/result'
import { productCatalog } from '../../src-main/protocol'
import { chooseProduct, productForRun } from '../../src-main/service/products'

const labels = { name: '--product', skuId: '--sku' }
const office = productCatalog.findProduct('Office Professional Plus 2019')
if (office.kind !== 'found') throw new Error('Office Professional Plus 2019 is not in the catalog')

describe('chooseProduct', () => {
  it('finds a product by exact name and by SKU GUID in either case; nothing named is no choice', () => {
    const win = productCatalog.defaultProduct()
    expect(chooseProduct({ name: win.name }, labels)).toBe(win)
    expect(chooseProduct({ skuId: win.guid.toUpperCase() }, labels)).toBe(win)
    expect(chooseProduct({}, labels)).toBeUndefined()
  })

  it('an unknown, ambiguous, empty or doubly named product is invalid input', () => {
    for (const choice of [
      { name: 'zzz no such product' },
      { name: 'Windows' },
      { name: '  ' },
      { skuId: '00000000-0000-0000-0000-000000000001' }
    ]) {
      expect(() => chooseProduct(choice, labels)).toThrow(ApiFailure)
    }
    expect(() => chooseProduct({ name: 'Windows' }, labels)).toThrow(/--product 'Windows' matches \d+ products/)
    expect(() => chooseProduct({ name: office.sku.name, skuId: office.sku.guid }, labels)).toThrow(
      /--product and --sku both name a product/
    )
  })
})

describe('productForRun', () => {
  it('the product named for the run wins over the settings', () => {
    const warnings: string[] = []
    expect(productForRun(office.sku, productCatalog.defaultProduct().guid, (w) => warnings.push(w))).toBe(office.sku)
    expect(warnings).toEqual([])
  })

  it("the settings' product when none is named, else the catalog's default", () => {
    const warnings: string[] = []
    expect(productForRun(undefined, office.sku.guid, (w) => warnings.push(w))).toBe(office.sku)
    expect(productForRun(undefined, null, (w) => warnings.push(w))).toBe(productCatalog.defaultProduct())
    expect(warnings).toEqual([])
  })

  it("a settings' product the catalog no longer has is a warning, and the catalog's default is used", () => {
    const warnings: string[] = []
    const stale = '00000000-0000-0000-0000-000000000001'
    expect(productForRun(undefined, stale, (w) => warnings.push(w))).toBe(productCatalog.defaultProduct())
    expect(warnings).toEqual([`the settings' product ${stale} is not a known SKU; using the default product`])
  })
})
