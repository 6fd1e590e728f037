namespace Stepcast.LoadHarness;

/// <summary>Latencies of one phase, in milliseconds; each worker adds to its own list, merged at the end.</summary>
public sealed class LatencySample
{
    private readonly List<double> _values = [];

    public int Count => _values.Count;

    public void Add(double milliseconds) => _values.Add(milliseconds);

    public static LatencySample Merge(IEnumerable<LatencySample> parts)
    {
        var merged = new LatencySample();
        foreach (var part in parts)
        {
            merged._values.AddRange(part._values);
        }

        merged._values.Sort();
        return merged;
    }

    /// <summary>Nearest-rank percentile of a merged (sorted) sample; 0 when empty.</summary>
    public double Percentile(double p) =>
        _values.Count == 0 ? 0 : _values[Math.Clamp((int)Math.Ceiling(p / 100 * _values.Count) - 1, 0, _values.Count - 1)];

    public double Max => _values.Count == 0 ? 0 : _values[^1];
}
