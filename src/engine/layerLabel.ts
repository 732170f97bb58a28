/**
 * A layer's display name: its path in the model and, when the PyTorch bridge reported the owning
 * module, the module's type and sizes — `net.0 (Linear 10→32)`. Python reports the facts; this is the
 * one place they are worded.
 */
export interface LayerModule {
  type: string;
  in?: number;
  out?: number;
}

export function layerLabel(name: string, module: LayerModule | undefined): string {
  if (!module) return name;
  const sizes = module.in !== undefined && module.out !== undefined ? (module.in === module.out ? ` ${module.in}` : ` ${module.in}→${module.out}`) : '';
  return `${name} (${module.type}${sizes})`;
}
