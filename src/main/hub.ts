// In-process publish/subscribe for the contract's topics: services publish, the backend's
// subscribe() hands listeners out to every transport.
import type { TopicName, Topics, Unsubscribe } from '../shared/api'

export interface Hub {
  publish<T extends TopicName>(topic: T, event: Topics[T]): void
  subscribe<T extends TopicName>(topic: T, listener: (event: Topics[T]) => void): Unsubscribe
  listenerCount(topic: TopicName): number
}

export function createHub(): Hub {
  const listeners = new Map<TopicName, Set<(e: unknown) => void>>()
  return {
    publish(topic, event) {
      for (const l of [...(listeners.get(topic) ?? [])]) {
        try {
          l(event)
        } catch (err) {
          // One broken listener (a closed socket) must not starve the others.
          console.error(`hearth: listener for ${topic} threw:`, err)
        }
      }
    },
    subscribe(topic, listener) {
      let set = listeners.get(topic)
      if (!set) listeners.set(topic, (set = new Set()))
      const l = listener as (e: unknown) => void
      set.add(l)
      return () => {
        set.delete(l)
      }
    },
    listenerCount(topic) {
      return listeners.get(topic)?.size ?? 0
    },
  }
}
