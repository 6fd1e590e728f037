using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Stepcast.Grains.Friends;

namespace Stepcast.Benchmarks;

/// <summary>
/// Directory buckets' open pages as new friends rewrite them: 1,024 buckets (a channel's), each with 32 LINE user ids
/// (a 64-id page is half full on average), written round-robin as a silo does under load, so the ids are not in the
/// CPU's caches when their bucket is written. Each id was allocated among other work, as ids arriving in webhooks are.
/// <see cref="Packed"/> compares the open page as a list of strings stored as text (before session 16) with the page
/// held as 128-bit numbers and stored as 16 bytes each (<see cref="IdPage"/>, <see cref="PackedLineUserIds"/>).
/// </summary>
[MemoryDiagnoser]
public class IdListSerializationBenchmarks
{
    private const int Buckets = 1024;
    private ServiceProvider _services = null!;
    private Serializer<FriendDirectoryState> _serializer = null!;
    private List<string>[] _open = [];
    private IdPage[] _pages = [];
    private byte[][] _stored = [];
    private readonly List<byte[]> _otherWork = [];

    [Params(false, true)]
    public bool Packed { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection()
            .AddSerializer(builder => builder.AddAssembly(typeof(FriendDirectoryState).Assembly))
            .BuildServiceProvider();
        _serializer = _services.GetRequiredService<Serializer<FriendDirectoryState>>();
        var random = new Random(7);
        _open = [.. Enumerable.Range(0, Buckets).Select(_ => new List<string>())];
        for (var i = 0; i < 32 * Buckets; i++)
        {
            _open[random.Next(Buckets)].Add("U" + Convert.ToHexStringLower(RandomBytes(random, 16)));
            _otherWork.Add(new byte[random.Next(100, 2_000)]);
        }

        foreach (var page in _open)
        {
            page.Sort(StringComparer.Ordinal);
        }

        _pages = [.. _open.Select(page => IdPage.Load(null, page))];
        _stored = [.. Enumerable.Range(0, Buckets).Select(Write)];
        if (!_serializer.Deserialize(_stored[0])!.OpenIds().SequenceEqual(_open[0]))
        {
            throw new InvalidOperationException("The open page did not round-trip.");
        }

        Console.WriteLine($"// 1,024 open pages, packed {Packed}: {_stored.Sum(s => (long)s.Length) / Buckets} bytes each on average");
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(OperationsPerInvoke = Buckets)]
    public int WriteOpenPage()
    {
        var bytes = 0;
        for (var bucket = 0; bucket < Buckets; bucket++)
        {
            bytes += Write(bucket).Length;
        }

        return bytes;
    }

    private byte[] Write(int bucket) => _serializer.SerializeToArray(Packed
        ? FriendDirectoryState.Of(_pages[bucket], 3, pack: true)
        : new FriendDirectoryState { LineUserIds = [.. _open[bucket]], SealedPages = 3 });

    [Benchmark(OperationsPerInvoke = Buckets)]
    public int ReadOpenPage()
    {
        var ids = 0;
        foreach (var stored in _stored)
        {
            ids += _serializer.Deserialize(stored)!.OpenPage().Count;
        }

        return ids;
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
