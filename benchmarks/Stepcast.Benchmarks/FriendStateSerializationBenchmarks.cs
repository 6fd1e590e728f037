using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;
using Stepcast.Grains.Friends;

namespace Stepcast.Benchmarks;

/// <summary>
/// A waiting friend's state as it crosses the wire (Orleans serializer) and as the PostgreSQL grain storage writes
/// it: Orleans' own <see cref="SystemTextJsonGrainStorageSerializer"/> with its default options (fields included,
/// nulls omitted), as the silo configures it. The silo's options also get Orleans' converters for grain ids and
/// references, which a friend state does not contain. The byte counts are printed once by the setup.
/// </summary>
[MemoryDiagnoser]
public class FriendStateSerializationBenchmarks
{
    private ServiceProvider _services = null!;
    private Serializer<FriendState> _orleans = null!;
    private SystemTextJsonGrainStorageSerializer _storage = null!;
    private FriendState _friend = null!;
    private byte[] _orleansBytes = [];
    private BinaryData _storageBytes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection()
            .AddSerializer(builder => builder.AddAssembly(typeof(FriendState).Assembly))
            .BuildServiceProvider();
        _orleans = _services.GetRequiredService<Serializer<FriendState>>();
        _storage = new SystemTextJsonGrainStorageSerializer(Options.Create(new SystemTextJsonGrainStorageSerializerOptions()));

        _friend = SampleFriends.Waiting(new DateTimeOffset(2026, 11, 22, 21, 30, 0, TimeSpan.FromHours(9)));
        _orleansBytes = _orleans.SerializeToArray(_friend);
        _storageBytes = _storage.Serialize(_friend);

        var fromOrleans = _orleans.Deserialize(_orleansBytes);
        var fromStorage = _storage.Deserialize<FriendState>(_storageBytes);
        if (fromOrleans is not { History.Count: 20, RecentEventIds.Count: 64, Enrollments.Count: 2, Attributes.Count: 10 }
            || fromStorage is not { History.Count: 20, RecentEventIds.Count: 64, Enrollments.Count: 2, Attributes.Count: 10 })
        {
            throw new InvalidOperationException("The friend state did not round-trip.");
        }

        Console.WriteLine($"// FriendState bytes: Orleans serializer {_orleansBytes.Length}, System.Text.Json (grain storage) {_storageBytes.ToMemory().Length}");
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark]
    public byte[] OrleansSerialize() => _orleans.SerializeToArray(_friend);

    [Benchmark]
    public FriendState? OrleansDeserialize() => _orleans.Deserialize(_orleansBytes);

    [Benchmark]
    public BinaryData StorageJsonSerialize() => _storage.Serialize(_friend);

    [Benchmark]
    public FriendState? StorageJsonDeserialize() => _storage.Deserialize<FriendState>(_storageBytes);
}
