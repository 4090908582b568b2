/**
 * The services the gateway can answer: every modelled service (so an unimplemented one still
 * gets its protocol's proper error), with the plugin instance where Stratus implements it.
 * Shape tables and codecs are loaded on first use: start-up pays for none of them.
 */
import { modelLoaders, services, type ServiceInfo } from '../api/services.js';
import { codecFor } from '../protocol/codecs.js';
import type { ServiceModel } from '../protocol/model.js';
import type { ProtocolCodec } from '../protocol/types.js';
import type { ServiceInstance, ServicePlugin } from '../services/plugin.js';

export interface LoadedService {
  info: ServiceInfo;
  model: ServiceModel;
  codec: ProtocolCodec;
  /** Undefined for services modelled but not implemented. */
  instance?: ServiceInstance;
  plugin?: ServicePlugin;
}

export class ServiceRegistry {
  private readonly loaded = new Map<string, LoadedService>();
  private readonly loading = new Map<string, Promise<LoadedService>>();
  private readonly instances = new Map<
    string,
    { plugin: ServicePlugin; instance: ServiceInstance }
  >();

  register(plugin: ServicePlugin, instance: ServiceInstance): void {
    this.instances.set(plugin.name, { plugin, instance });
  }

  implemented(): { plugin: ServicePlugin; instance: ServiceInstance }[] {
    return [...this.instances.values()];
  }

  /** Synchronous on the warm path: no promise once the service is loaded. */
  get(info: ServiceInfo): LoadedService | Promise<LoadedService> {
    return this.loaded.get(info.name) ?? this.load(info);
  }

  /**
   * Concurrent first requests share one load. A failed load is forgotten once it settles,
   * so the next request tries again instead of the service answering errors until restart.
   */
  private load(info: ServiceInfo): Promise<LoadedService> {
    let pending = this.loading.get(info.name);
    if (!pending) {
      pending = this.loadModel(info).finally(() => this.loading.delete(info.name));
      this.loading.set(info.name, pending);
    }
    return pending;
  }

  private async loadModel(info: ServiceInfo): Promise<LoadedService> {
    const impl = this.instances.get(info.name);
    const model = impl ? await impl.plugin.model() : await modelLoaders[info.name]();
    const svc: LoadedService = {
      info,
      model,
      codec: codecFor(model),
      instance: impl?.instance,
      plugin: impl?.plugin,
    };
    this.loaded.set(info.name, svc);
    return svc;
  }

  static all(): readonly ServiceInfo[] {
    return services;
  }
}
