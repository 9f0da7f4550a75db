"""Azure regions the sandbox knows, with the metadata ARM's list-locations returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    name: str
    display_name: str
    geography_group: str
    physical_location: str
    latitude: str
    longitude: str
    paired: str
    category: str = "Recommended"
    # How many Marketplace publishers this region lists (the big ones carry the full catalogue).
    marketplace_publishers: int = 0


REGIONS: tuple[Region, ...] = (
    Region(
        "westeurope",
        "West Europe",
        "Europe",
        "Netherlands",
        "52.3667",
        "4.9",
        "northeurope",
        marketplace_publishers=3412,
    ),
    Region(
        "eastus",
        "East US",
        "US",
        "Virginia",
        "37.3719",
        "-79.8164",
        "westus",
        marketplace_publishers=3587,
    ),
    Region(
        "northeurope",
        "North Europe",
        "Europe",
        "Ireland",
        "53.3478",
        "-6.2597",
        "westeurope",
        marketplace_publishers=2954,
    ),
    Region(
        "germanywestcentral",
        "Germany West Central",
        "Europe",
        "Frankfurt",
        "50.110924",
        "8.682127",
        "germanynorth",
        marketplace_publishers=1876,
    ),
    Region(
        "westus2",
        "West US 2",
        "US",
        "Washington",
        "47.233",
        "-119.852",
        "westcentralus",
        marketplace_publishers=3105,
    ),
    Region(
        "uksouth",
        "UK South",
        "UK",
        "London",
        "50.941",
        "-0.799",
        "ukwest",
        marketplace_publishers=2411,
    ),
    Region(
        "swedencentral",
        "Sweden Central",
        "Europe",
        "Gävle",
        "60.67488",
        "17.14127",
        "swedensouth",
        marketplace_publishers=1342,
    ),
    Region(
        "southeastasia",
        "Southeast Asia",
        "Asia Pacific",
        "Singapore",
        "1.283",
        "103.833",
        "eastasia",
        marketplace_publishers=2633,
    ),
    Region(
        "westus",
        "West US",
        "US",
        "California",
        "37.783",
        "-122.417",
        "eastus",
        category="Other",
        marketplace_publishers=2288,
    ),
    Region(
        "ukwest",
        "UK West",
        "UK",
        "Cardiff",
        "53.427",
        "-3.084",
        "uksouth",
        category="Other",
        marketplace_publishers=1190,
    ),
    Region(
        "germanynorth",
        "Germany North",
        "Europe",
        "Berlin",
        "53.073635",
        "8.806422",
        "germanywestcentral",
        category="Other",
    ),
    Region(
        "swedensouth",
        "Sweden South",
        "Europe",
        "Malmo",
        "55.60567",
        "13.00073",
        "swedencentral",
        category="Other",
    ),
    Region(
        "westcentralus",
        "West Central US",
        "US",
        "Wyoming",
        "40.89",
        "-110.234",
        "westus2",
        category="Other",
    ),
    Region(
        "eastasia",
        "East Asia",
        "Asia Pacific",
        "Hong Kong",
        "22.267",
        "114.188",
        "southeastasia",
        marketplace_publishers=1654,
    ),
)

REGIONS_BY_NAME = {r.name: r for r in REGIONS}
MARKETPLACE_REGIONS = tuple(r.name for r in REGIONS if r.marketplace_publishers)


def location_json(subscription_id: str, region: Region) -> dict[str, object]:
    geography = region.geography_group
    return {
        "id": f"/subscriptions/{subscription_id}/locations/{region.name}",
        "name": region.name,
        "type": "Region",
        "displayName": region.display_name,
        "regionalDisplayName": f"({geography}) {region.display_name}",
        "metadata": {
            "regionType": "Physical",
            "regionCategory": region.category,
            "geographyGroup": geography,
            "longitude": region.longitude,
            "latitude": region.latitude,
            "physicalLocation": region.physical_location,
            "pairedRegion": [
                {
                    "name": region.paired,
                    "id": f"/subscriptions/{subscription_id}/locations/{region.paired}",
                }
            ],
        },
    }
