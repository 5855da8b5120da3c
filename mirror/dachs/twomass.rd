<?xml version="1.0" encoding="utf-8"?>
<!-- twomass_vo mirror kit: publishes a twomass_vo LocalArchive through GAVO DaCHS.

Installed by mirror.sh as /var/gavo/inputs/twomass/q.rd (RD id twomass/q).
Inputs (written by mirror.sh):
  data/archive.csv  one row per image file, written by export_archive.py
  files/            the LocalArchive's file store (a symlink, or a copy)

Publishes:
  * TAP/ADQL table twomass.images (one row per image file: Atlas and
    Quicklook, J/H/K), s_region a pgsphere spoly straight from the
    LocalArchive index (footprint to the outer pixel edges);
  * ObsCore rows in ivoa.obscore (obs_collection '2MASS-mirror',
    dataproduct_subtype 'atlas' or 'quicklook');
  * SIA v2 over those ObsCore rows: /twomass/q/siap2 (pyvo base URL);
  * SIAP v1 on the table: /twomass/q/i/siap.xml;
  * datalink and SODA cutouts: /twomass/q/dl/dlmeta, /twomass/q/dl/dlget;
  * the files themselves: /getproduct/twomass/files/<store path>.
-->
<resource schema="twomass" resdir="twomass">
  <meta name="creationDate">2024-06-01T00:00:00Z</meta>
  <meta name="title">2MASS Atlas and Quicklook images (twomass_vo mirror)</meta>
  <meta name="description">
    2MASS Atlas and Quicklook images of a twomass_vo LocalArchive, one
    row per image file (J, H, Ks), with the exact footprints of the
    archive index.  Published with the twomass_vo DaCHS mirror kit.  When
    the archive is a twomass_vo simulation, the pixels are synthetic
    (the FITS headers say so); identifiers, geometry and headers follow
    the real survey.
  </meta>
  <meta name="subject">infrared-astronomy</meta>
  <meta name="subject">sky-surveys</meta>
  <meta name="creator">Skrutskie, M. F.; Cutri, R. M.; et al.</meta>
  <meta name="instrument">2MASS camera</meta>
  <meta name="facility">FLWO 1.3m</meta>
  <meta name="facility">CTIO 1.3m</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Archive</meta>
  <meta name="coverage.waveband">Infrared</meta>
  <meta name="source">2006AJ....131.1163S</meta>
  <meta name="copyright">This publication makes use of data products
    from the Two Micron All Sky Survey, which is a joint project of the
    University of Massachusetts and the Infrared Processing and Analysis
    Center/California Institute of Technology, funded by the National
    Aeronautics and Space Administration and the National Science
    Foundation.</meta>

  <table id="images" onDisk="True" mixin="//siap#pgs" adql="True">
    <meta name="description">2MASS image files of the mirrored
      LocalArchive: one row per file (Atlas and Quicklook, J/H/K).
      s_region is the footprint to the outer pixel edges, from the
      archive index.</meta>
    <meta name="_associatedDatalinkService">
      <meta name="serviceId">dl</meta>
      <meta name="idColumn">pubdid</meta>
    </meta>

    <mixin
      calibLevel="2"
      collectionName="'2MASS-mirror'"
      productSubtype="image_type"
      oUCD="'phot.count'"
      facilityName="CASE WHEN hemisphere='n' THEN 'FLWO 1.3m'
        ELSE 'CTIO 1.3m' END"
    >//obscore#publishSIAP</mixin>

    <column name="coadd_key" type="integer" required="True"
      ucd="meta.id" tablehead="Coadd key"
      description="Key of the image set (the J, H and Ks images of one
        coadd share it)"/>
    <column name="ordate" type="char(6)" required="True"
      ucd="meta.id;obs" tablehead="ORDATE"
      description="Date of the observation night, yymmdd"/>
    <column name="hemisphere" type="char" required="True"
      ucd="meta.id;instr.tel" tablehead="Hem."
      description="Observatory hemisphere: n (Mt. Hopkins) or s (CTIO)"/>
    <column name="scanno" type="integer" required="True"
      ucd="meta.id;obs.sequence" tablehead="Scan"
      description="Scan number within the night"/>
    <column name="image" type="integer" required="True"
      ucd="meta.number" tablehead="Image"
      description="Image number within the scan"/>
    <column name="band" type="char" required="True"
      ucd="instr.bandpass" tablehead="Band"
      description="2MASS band: J, H or K (Ks)"/>
    <column name="image_type" type="text" required="True"
      ucd="meta.code.class" tablehead="Type"
      description="atlas (full-resolution Atlas image) or quicklook
        (lossy hcompressed Quicklook image)"/>
    <column name="ra" type="double precision" unit="deg" required="True"
      ucd="pos.eq.ra;meta.main" tablehead="RA"
      description="RA of the image centre (CRVAL1), ICRS"/>
    <column name="dec" type="double precision" unit="deg" required="True"
      ucd="pos.eq.dec;meta.main" tablehead="Dec"
      description="Dec of the image centre (CRVAL2), ICRS"/>
    <column name="s_region" type="spoly" unit="deg"
      ucd="pos.outline;obs.field" tablehead="Footprint"
      description="Footprint to the outer pixel edges, from the archive
        index (same as coverage)"/>
    <column name="crval1" type="double precision" unit="deg" required="True"
      ucd="pos.wcs.crval" description="WCS reference RA (CRVAL1)"/>
    <column name="crval2" type="double precision" unit="deg" required="True"
      ucd="pos.wcs.crval" description="WCS reference Dec (CRVAL2)"/>
    <column name="crpix1" type="double precision" unit="pix" required="True"
      ucd="pos.wcs.crpix" description="WCS reference pixel (CRPIX1)"/>
    <column name="crpix2" type="double precision" unit="pix" required="True"
      ucd="pos.wcs.crpix" description="WCS reference pixel (CRPIX2)"/>
    <column name="cdelt1" type="double precision" unit="deg/pix"
      required="True" ucd="pos.wcs.scale"
      description="Pixel size along axis 1 (CDELT1, negative: RA
        increases to the left)"/>
    <column name="cdelt2" type="double precision" unit="deg/pix"
      required="True" ucd="pos.wcs.scale"
      description="Pixel size along axis 2 (CDELT2)"/>
    <column name="crota2" type="double precision" unit="deg" required="True"
      ucd="pos.posAng" description="Image twist, +axis 2 W of N (CROTA2)"/>
    <column name="naxis1" type="integer" unit="pix" required="True"
      ucd="pos.wcs.naxis" description="Image width (NAXIS1)"/>
    <column name="naxis2" type="integer" unit="pix" required="True"
      ucd="pos.wcs.naxis" description="Image height (NAXIS2)"/>
    <column name="scandir" type="text"
      ucd="meta.code" tablehead="Scan dir."
      description="Scan direction (n, s), where the archive knows it"/>
    <column name="access_url" type="text" required="True"
      ucd="meta.ref.url;meta.file" tablehead="URL"
      description="URL of the FITS file (DaCHS getproduct)"
      displayHint="type=url"/>
    <column name="access_format" type="text" required="True"
      ucd="meta.code.mime" tablehead="Format"
      description="MIME type of the file"/>
    <column name="access_estsize" type="bigint" unit="kbyte" required="True"
      ucd="phys.size;meta.file" tablehead="Size"
      description="Size of the file (kbyte = 1000 bytes, rounded up)"/>
    <column name="pubdid" type="text" required="True"
      ucd="meta.ref.ivoid" tablehead="PubDID"
      description="Publisher dataset identifier (the datalink ID)"/>

    <index columns="s_region" method="GIST"/>
    <index columns="coadd_key"/>
    <index columns="ordate,hemisphere,scanno,image"/>
  </table>

  <data id="import">
    <sources pattern="data/archive.csv"/>
    <csvGrammar>
      <rowfilter procDef="//products#define">
        <bind key="table">"\schema.images"</bind>
        <bind key="accref">@accref</bind>
        <bind key="path">@accref</bind>
        <bind key="fsize">int(@fsize)</bind>
        <bind key="mime">@access_format</bind>
      </rowfilter>
    </csvGrammar>

    <make table="images">
      <rowmaker>
        <var key="obsDate">datetime.datetime.strptime(
          ("19" if int(@ordate[:2])>=50 else "20")+@ordate, "%Y%m%d")</var>
        <var key="bandName">{"J": "2MASS J", "H": "2MASS H",
          "K": "2MASS KS"}[@band]</var>
        <var key="kindName">{"atlas": "Atlas",
          "quicklook": "Quicklook"}[@image_type]</var>

        <apply procDef="//siap#setMeta">
          <bind key="dateObs">@obsDate</bind>
          <bind key="bandpassId">@bandName</bind>
          <bind key="pixflags">"C"</bind>
          <bind key="title">"2MASS %s %s %s%s s%03d i%04d"%(
            @kindName, @band, @ordate, @hemisphere,
            int(@scanno), int(@image))</bind>
        </apply>
        <apply procDef="//siap#getBandFromFilter"/>
        <apply name="wcsFromIndex">
          <doc>SIAP WCS columns from the index values (no FITS reading);
            the footprint is the index's s_region, never recomputed.</doc>
          <code>
            import math
            crval = [float(@crval1), float(@crval2)]
            crpix = [float(@crpix1), float(@crpix2)]
            cdelt = [float(@cdelt1), float(@cdelt2)]
            rho = math.radians(float(@crota2))
            naxis = [int(@naxis1), int(@naxis2)]
            result["centerAlpha"], result["centerDelta"] = crval
            result["nAxes"] = 2
            result["pixelSize"] = naxis
            result["pixelScale"] = [abs(cdelt[0]), abs(cdelt[1])]
            result["wcs_projection"] = "SIN"
            result["wcs_refPixel"] = crpix
            result["wcs_refValues"] = crval
            result["wcs_cdmatrix"] = [
              cdelt[0]*math.cos(rho), -cdelt[1]*math.sin(rho),
              cdelt[0]*math.sin(rho), cdelt[1]*math.cos(rho)]
            result["wcs_equinox"] = 2000.0
            poly = parseSimpleSTCS(@s_region)
            result["coverage"] = poly
            result["s_region"] = poly
          </code>
        </apply>

        <map key="coadd_key">int(@coadd_key)</map>
        <map key="ordate">@ordate</map>
        <map key="hemisphere">@hemisphere</map>
        <map key="scanno">int(@scanno)</map>
        <map key="image">int(@image)</map>
        <map key="band">@band</map>
        <map key="image_type">@image_type</map>
        <map key="ra">float(@crval1)</map>
        <map key="dec">float(@crval2)</map>
        <map key="crval1">float(@crval1)</map>
        <map key="crval2">float(@crval2)</map>
        <map key="crpix1">float(@crpix1)</map>
        <map key="crpix2">float(@crpix2)</map>
        <map key="cdelt1">float(@cdelt1)</map>
        <map key="cdelt2">float(@cdelt2)</map>
        <map key="crota2">float(@crota2)</map>
        <map key="naxis1">int(@naxis1)</map>
        <map key="naxis2">int(@naxis2)</map>
        <map key="scandir">@scandir or None</map>
        <map key="access_url">makeAbsoluteURL("/getproduct/"+@prodtblAccref)</map>
        <map key="access_format">@access_format</map>
        <map key="access_estsize">-(-int(@fsize)//1000)</map>
        <map key="pubdid">\standardPubDID</map>
      </rowmaker>
    </make>
  </data>

  <!-- SIA v2 over ivoa.obscore, restricted to this collection -->
  <service id="siap2" allowed="siap2.xml,form">
    <meta name="shortName">2MASS mirror SIA2</meta>
    <meta name="sia.type">Pointed</meta>
    <meta name="testQuery.pos.ra">10.684</meta>
    <meta name="testQuery.pos.dec">41.269</meta>
    <meta name="testQuery.size.ra">0.1</meta>
    <meta name="testQuery.size.dec">0.1</meta>
    <!-- publish: makes the SIA#query-2.0 capability appear in
      .../capabilities, which pyvo.dal.SIA2Service reads -->
    <publish render="siap2.xml" sets="ivo_managed"/>
    <dbCore queriedTable="//obscore#ObsCore">
      <FEED source="//siap2#parameters"/>
      <condDesc combining="True">
        <phraseMaker>
          <code>
            yield ("obs_collection='2MASS-mirror'"
              " AND dataproduct_type in ('image', 'cube')")
          </code>
        </phraseMaker>
      </condDesc>
    </dbCore>
    <!-- the default SIA v2 columns plus dataproduct_subtype ('atlas' or
      'quicklook'), which DaCHS otherwise only returns with VERB=3 -->
    <property name="votableRespectsOutputTable">True</property>
    <outputTable verbLevel="20">
      <outputField original="//obscore#ObsCore.dataproduct_subtype"
        verbLevel="20"/>
    </outputTable>
  </service>

  <!-- SIAP v1 on the table itself -->
  <service id="i" allowed="form,siap.xml">
    <meta name="shortName">2MASS mirror SIAP</meta>
    <meta name="sia.type">Pointed</meta>
    <meta name="testQuery.pos.ra">10.684</meta>
    <meta name="testQuery.pos.dec">41.269</meta>
    <meta name="testQuery.size.ra">0.1</meta>
    <meta name="testQuery.size.dec">0.1</meta>
    <publish render="siap.xml" sets="ivo_managed"/>
    <dbCore queriedTable="images">
      <condDesc original="//siap#protoInput"/>
      <condDesc original="//siap#humanInput"/>
    </dbCore>
  </service>

  <!-- datalink + SODA cutouts (qnd=False: Quicklook files are compressed
    image extensions) -->
  <service id="dl" allowed="dlget,dlmeta">
    <meta name="title">2MASS mirror datalink</meta>
    <meta name="description">Datalink and SODA cutouts for the 2MASS
      Atlas and Quicklook images of this mirror.</meta>
    <datalinkCore>
      <descriptorGenerator procDef="//soda#fits_genDesc" name="genFITSDesc">
        <bind key="accrefPrefix">'twomass/files/'</bind>
        <bind key="qnd">False</bind>
      </descriptorGenerator>
      <FEED source="//soda#fits_standardDLFuncs"/>
    </datalinkCore>
  </service>
</resource>
