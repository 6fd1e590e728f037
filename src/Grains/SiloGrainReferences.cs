namespace Stepcast.Grains;

/// <summary>
/// Grain references made inside a silo, with the grain type worked out once per interface. Orleans'
/// <c>GetGrain&lt;T&gt;(key)</c> works it out by naming convention on every call: ~3 % of an embedded host's CPU in
/// a profile of the webhook ingest (benchmarks/history.md, "Session 13"). For grain code only: a silo knows its own
/// grain classes, where a client without the cluster's manifest yet would get, and here keep, a placeholder type.
/// </summary>
public static class SiloGrainReferences
{
    public static TGrain GetGrainInSilo<TGrain>(this IGrainFactory grains, string key) where TGrain : IGrainWithStringKey
    {
        var types = TypesOf<TGrain>.Resolved ??= ResolvedTypes.Of(grains.GetGrain<TGrain>(key));
        return (TGrain)grains.GetGrain(GrainId.Create(types.GrainType, key), types.InterfaceType);
    }

    public static TGrain GetGrainInSilo<TGrain>(this IGrainFactory grains, Guid key) where TGrain : IGrainWithGuidKey
    {
        var types = TypesOf<TGrain>.Resolved ??= ResolvedTypes.Of(grains.GetGrain<TGrain>(key));
        return (TGrain)grains.GetGrain(GrainId.Create(types.GrainType, GrainIdKeyExtensions.CreateGuidKey(key)), types.InterfaceType);
    }

    private sealed record ResolvedTypes(GrainType GrainType, GrainInterfaceType InterfaceType)
    {
        public static ResolvedTypes Of(IAddressable reference) => new(reference.GetGrainId().Type, ((GrainReference)reference).InterfaceType);
    }

    // One per interface; two threads resolving at once store the same answer.
    private static class TypesOf<TGrain>
    {
        public static ResolvedTypes? Resolved;
    }
}
