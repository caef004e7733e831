/**
 * Runs `work` over `items` with at most `limit` in flight, keeping the results in the items' order — how KMS
 * Scout bounds every fan-out (address lookups of SRV targets, probes of published hosts, remote computers), so
 * no list from the network or the user can open an unbounded number of sockets or processes at once.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker))
  return results
}
