using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Stepcast.Grains.Scenarios;

/// <summary>
/// Places a friend in a split step's variant. The bucket depends only on the friend, scenario and step, so a replayed
/// step, another silo or a newer .NET gives the same answer; string.GetHashCode is randomised per process and would not.
/// </summary>
public static class SplitAssignment
{
    public const int BucketCount = 100;

    /// <summary>A bucket 0..99 from SHA-256 over the UTF-8 of the three keys.</summary>
    public static int BucketOf(string friendKey, string scenarioId, string stepId)
    {
        ArgumentNullException.ThrowIfNull(friendKey);
        ArgumentNullException.ThrowIfNull(scenarioId);
        ArgumentNullException.ThrowIfNull(stepId);

        // NUL separates the parts so that ("ab", "c") and ("a", "bc") hash differently; ids never contain NUL.
        var input = Encoding.UTF8.GetBytes($"{scenarioId}\0{stepId}\0{friendKey}");
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);

        // Big-endian read so the result does not depend on the machine; the modulo bias over 2^64 is negligible.
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(hash) % BucketCount);
    }

    /// <summary>
    /// Variants take consecutive buckets in their listed order (a 30/20 split gives buckets 0–29 and 30–49);
    /// the rest is the holdout, for which this returns null.
    /// </summary>
    public static SplitVariant? Choose(SplitStep step, int bucket)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentOutOfRangeException.ThrowIfNegative(bucket);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bucket, BucketCount);

        if (step.Variants.IsDefault)
        {
            return null;
        }

        var upper = 0;
        foreach (var variant in step.Variants)
        {
            upper += variant.Percent;
            if (bucket < upper)
            {
                return variant;
            }
        }

        return null;
    }
}
