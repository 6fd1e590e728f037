namespace Stepcast.Grains.Campaigns;

/// <summary>Campaign settings, bound from <c>Stepcast:Campaigns</c>.</summary>
public sealed class CampaignOptions
{
    public const string SectionName = "Stepcast:Campaigns";

    /// <summary>Enrol calls in flight per upload or segment page; with the row buffer, what bounds an upload's memory.</summary>
    public int EnrollParallelism { get; set; } = 128;

    /// <summary>How often an upload reports its progress to the campaign grain (and learns of a cancel).</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// An upload that has not reported for this long is taken to be dead (its Api process crashed): a repeated
    /// request may take the upload over.
    /// </summary>
    public TimeSpan UploadLeaseTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Friends a segment campaign reads from the directory and enrols per step.</summary>
    public int SegmentPageSize { get; set; } = 500;
}
