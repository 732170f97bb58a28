/** A minimal typed event emitter (vscode-free; the vscode glue adapts it where needed). */
export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => void>();

  on(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (e) {
        // A faulty listener must not break the run or starve the other listeners.
        console.error('optiscope: listener failed', e);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
